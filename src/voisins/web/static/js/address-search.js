/* Address fields with suggestions (templates/addresses/_field.html): the ARIA combobox
   pattern over a list that htmx fills from POST /adresses/suggestions. Choosing an
   address fills the hidden longitude and latitude and moves the map's pin (app.js
   listens to "change" on them). Without this file the field is plain text and the
   server looks the address up when the form is sent. No inline script (CSP). */
(function () {
  "use strict";

  function setup(box) {
    var input = box.querySelector("input[role=combobox]");
    var list = box.querySelector("[role=listbox]");
    var status = box.querySelector("[data-address-status]");
    var located = box.querySelector("input[name=address_located]");
    var lon = document.getElementById(box.dataset.lon);
    var lat = document.getElementById(box.dataset.lat);
    var active = -1;
    if (!input || !list) { return; }

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll("[role=option]:not([aria-disabled=true])"));
    }
    function open(isOpen) {
      input.setAttribute("aria-expanded", isOpen ? "true" : "false");
      list.hidden = !isOpen;
      if (!isOpen) { input.removeAttribute("aria-activedescendant"); active = -1; }
    }
    function highlight(index) {
      var all = options();
      if (!all.length) { return; }
      active = (index + all.length) % all.length;
      all.forEach(function (option, i) { option.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }
    function choose(option) {
      input.value = option.textContent.trim();
      if (lon && lat) {
        lon.value = option.dataset.lon;
        lat.value = option.dataset.lat;
        lon.dispatchEvent(new Event("change"));
        lat.dispatchEvent(new Event("change"));
      }
      if (located) { located.value = input.value; }
      open(false);
      list.innerHTML = "";
      if (status) { status.textContent = (status.dataset.chosen || "") + " " + input.value; }
      input.focus();
    }

    open(false);
    list.addEventListener("htmx:afterSwap", function () {
      var count = options().length;
      open(list.children.length > 0 && document.activeElement === input);
      if (status && count) {
        status.textContent = count === 1 ? status.dataset.countOne
          : (status.dataset.countMany || "").replace("%(n)s", String(count));
      }
    });
    // mousedown, not click: the input keeps its focus.
    list.addEventListener("mousedown", function (event) {
      var option = event.target.closest("[role=option]");
      if (option && option.getAttribute("aria-disabled") !== "true") {
        event.preventDefault();
        choose(option);
      }
    });
    input.addEventListener("keydown", function (event) {
      var expanded = input.getAttribute("aria-expanded") === "true";
      if (event.key === "ArrowDown" && expanded) { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp" && expanded) { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter" && expanded && active >= 0) {
        event.preventDefault();  // choose the address, do not send the form yet
        choose(options()[active]);
      } else if (event.key === "Escape" && expanded) { event.preventDefault(); open(false); }
    });
    input.addEventListener("input", function () {
      // Coordinates belong to the address they were found for: typing another one
      // drops them (adding a floor or a door code after it keeps them).
      if (located && located.value && input.value.indexOf(located.value) !== 0) {
        located.value = "";
        if (lon && lat) { lon.value = ""; lat.value = ""; }
      }
    });
    input.addEventListener("blur", function () { setTimeout(function () { open(false); }, 150); });
    // The pin moved by hand on the map: the coordinates now belong to what is typed.
    [lon, lat].forEach(function (field) {
      if (field) {
        field.addEventListener("voisins:pinned", function () { if (located) { located.value = input.value; } });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-address-search]").forEach(setup);
  });
})();
