/* The admin pages' territory map: the centre's polygon drawn from the GeoJSON the page
   carries (no inline script: the Content-Security-Policy allows scripts from this site
   only). The page says everything without it. */
(function () {
  "use strict";

  function territoryMaps() {
    if (typeof L === "undefined") { return; }
    document.querySelectorAll("[data-territory-map]").forEach(function (el) {
      var shape;
      try { shape = JSON.parse(el.dataset.territory || "null"); } catch (e) { shape = null; }
      if (!shape) { return; }
      var map = L.map(el, { scrollWheelZoom: false });
      if (el.dataset.tiles) {
        L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
      }
      var layer = L.geoJSON(shape, { style: { color: "#00587a", weight: 2, fillOpacity: 0.15 } }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [12, 12] });
    });
  }

  document.addEventListener("DOMContentLoaded", territoryMaps);
})();
