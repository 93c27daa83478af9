/* Small helpers of the volunteer's and the centre's pages (no inline script: the
   Content-Security-Policy allows scripts from this site only). Each page works without
   them. */
(function () {
  "use strict";

  function radiusOutputs() {
    // The radius slider says its value in words next to it, as it moves.
    document.querySelectorAll("output[data-radius-output]").forEach(function (output) {
      var input = document.getElementById(output.getAttribute("for"));
      if (!input) { return; }
      function show() { output.textContent = input.value; }
      input.addEventListener("input", show);
      show();
    });
  }

  function scheduleChoice() {
    // On the "post on someone's behalf" form, only the fields of the chosen kind of
    // schedule are shown (both stay in the page without JavaScript).
    var radios = document.querySelectorAll("input[name='schedule_type']");
    if (!radios.length) { return; }
    function update() {
      radios.forEach(function (radio) {
        var part = document.getElementById("horaire-" + radio.value);
        if (part) { part.hidden = !radio.checked; }
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    radiusOutputs();
    scheduleChoice();
  });
})();
