/* voisins pages: maps (Leaflet, served by this site), a pin to confirm a place, a
   radius to draw, and the live inbox (Server-Sent Events). Every page works without
   this file; it only adds the map and the live updates. No inline script anywhere:
   the Content-Security-Policy allows scripts from this site only. */
(function () {
  "use strict";

  function number(value, fallback) {
    var n = parseFloat(value);
    return isNaN(n) ? fallback : n;
  }

  function baseMap(el) {
    var lat = number(el.dataset.lat, 48.886), lon = number(el.dataset.lon, 2.354);
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], number(el.dataset.zoom, 15));
    if (el.dataset.tiles) {
      // Pages keep working when tiles cannot load: the layer fails quietly.
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    return map;
  }

  function drawCells(map, el) {
    var cells = [];
    try { cells = JSON.parse(el.dataset.cells || "[]"); } catch (e) { cells = []; }
    var half = number(el.dataset.cellM, 500) / 2;
    cells.forEach(function (c) {
      // Public cells only: a square of the fixed grid, never a place.
      var dLat = half / 111320, dLon = half / (111320 * Math.cos(c.lat * Math.PI / 180));
      L.rectangle([[c.lat - dLat, c.lon - dLon], [c.lat + dLat, c.lon + dLon]],
        { color: "#00587a", weight: 1, fillOpacity: Math.min(0.15 + (c.count || 1) * 0.05, 0.6) }).addTo(map);
    });
  }

  function pickPlace(map, el) {
    // The author confirms their place with a pin; the hidden inputs take its position.
    var lon = document.getElementById(el.dataset.pickLon), lat = document.getElementById(el.dataset.pickLat);
    if (!lon || !lat) { return; }
    var start = [number(lat.value, number(el.dataset.lat, 48.886)), number(lon.value, number(el.dataset.lon, 2.354))];
    var marker = L.marker(start, { draggable: true, keyboard: true, title: el.dataset.pinLabel || "" }).addTo(map);
    function set(latlng) {
      marker.setLatLng(latlng);
      lon.value = latlng.lng.toFixed(6);
      lat.value = latlng.lat.toFixed(6);
      // address-search.js: the coordinates now come from the pin, not from an address
      lon.dispatchEvent(new Event("voisins:pinned"));
    }
    marker.on("dragend", function () { set(marker.getLatLng()); });
    map.on("click", function (e) { set(e.latlng); });
    [lon, lat].forEach(function (input) {
      input.addEventListener("change", function () {
        if (!lon.value || !lat.value) { return; }
        marker.setLatLng([number(lat.value, start[0]), number(lon.value, start[1])]);
        map.panTo(marker.getLatLng());  // an address chosen far from the view
      });
    });
    var radius = el.dataset.radiusInput && document.getElementById(el.dataset.radiusInput);
    if (radius) {
      var circle = L.circle(marker.getLatLng(), { radius: number(radius.value, 2) * 1000, color: "#00587a" }).addTo(map);
      function update() { circle.setLatLng(marker.getLatLng()); circle.setRadius(number(radius.value, 2) * 1000); }
      radius.addEventListener("input", update);
      marker.on("move", update);
    }
  }

  function initMaps() {
    if (typeof L === "undefined") { return; }
    document.querySelectorAll("[data-map]").forEach(function (el) {
      var map = baseMap(el);
      drawCells(map, el);
      if (el.dataset.pickLon) { pickPlace(map, el); }
    });
  }

  // A Server-Sent Events stream kept open: ``open(opened)`` makes the EventSource and
  // calls ``opened()`` once the server says it is subscribed. An ended stream is
  // reconnected by the browser itself; an error answer (a proxy's 502, the server
  // restarting) closes the source for good: a new one is opened later, 2 s after the
  // first failure, twice as long after each next one (a minute at most).
  function keepOpen(open) {
    var retryMs = 2000;
    function connect() {
      var source = open(function () { retryMs = 2000; });
      source.addEventListener("error", function () {
        if (source.readyState !== EventSource.CLOSED) { return; }
        source.close();
        window.setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 60000);
      });
    }
    connect();
  }
  // For the conversation page's own stream (conversation.js).
  window.voisinsKeepOpen = keepOpen;

  function liveInbox() {
    var badge = document.querySelector("[data-live-unread]");
    if (!badge || typeof EventSource === "undefined") { return; }
    var connectedBefore = false;

    function refreshLists() {
      var list = document.getElementById("inbox-list");
      if (list && window.htmx) { window.htmx.trigger(list, "refresh"); }
      var live = document.querySelector("[data-live-refresh]");
      if (live && window.htmx) { window.htmx.trigger(live, "refresh"); }
    }

    // A stream ends when the server loses its live subscription (Redis restarted);
    // what arrived meanwhile was never pushed: count and list are fetched once.
    function catchUp() {
      fetch("/api/v1/me/notifications?per_page=1", {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (inbox) {
        if (!inbox) { return; }
        badge.textContent = inbox.unread ? String(inbox.unread) : "";
        badge.hidden = !inbox.unread;
      }).catch(function () { /* the next event or page load corrects the count */ });
      refreshLists();
    }

    keepOpen(function (opened) {
      var source = new EventSource("/api/v1/me/events");
      source.addEventListener("inbox", function (event) {
        if (event.data === "ready") {
          if (connectedBefore) { catchUp(); }
          connectedBefore = true;
          opened();
          return;
        }
        var count = parseInt(badge.textContent || "0", 10) || 0;
        badge.textContent = String(count + 1);
        badge.hidden = false;
        refreshLists();
      });
      return source;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initMaps();
    liveInbox();
  });
})();
