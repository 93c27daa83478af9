/* A conversation's live part: new messages appear without a reload, and the other
   side's contacts when they share them. The page works without this file (the form
   posts and comes back). Messages are built with textContent only: their text is
   never parsed as HTML. */
(function () {
  "use strict";

  function formatWhen(iso, locale) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) { return ""; }
    try {
      return when.toLocaleString(locale === "en" ? "en-GB" : "fr-FR", {
        day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
        timeZone: "Europe/Paris"  // as the server writes it (web/formats.py, short_moment)
      });
    } catch (e) {
      return when.toLocaleString();
    }
  }

  function authorOf(list, message) {
    if (message.on_behalf) {
      return (list.dataset.onBehalf || "%(author)s, %(resident)s")
        .replace("%(author)s", message.author_name || "")
        .replace("%(resident)s", list.dataset.resident || "");
    }
    return message.mine ? list.dataset.you : list.dataset.other;
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function messageItem(list, message) {
    var item = element("li", "message " + (message.mine ? "mine" : "theirs"));
    item.id = "message-" + message.id;
    var meta = element("p", "message-meta");
    meta.appendChild(element("strong", "", authorOf(list, message)));
    meta.appendChild(document.createTextNode(" \u00b7 "));
    var time = element("time", "", formatWhen(message.created_at, list.dataset.locale));
    time.setAttribute("datetime", message.created_at);
    meta.appendChild(time);
    item.appendChild(meta);
    if (message.text === null) {
      item.appendChild(element("p", "message-text hint", list.dataset.erased));
    } else {
      item.appendChild(element("p", "message-text", message.text));
    }
    if (!message.mine) {
      var report = element("p", "message-report");
      var link = element("a", "", list.dataset.report);
      link.setAttribute("href", "/signaler?message=" + encodeURIComponent(String(message.id)));
      link.appendChild(element("span", "visually-hidden", " " + list.dataset.reportHidden));
      report.appendChild(link);
      item.appendChild(report);
    }
    return item;
  }

  // The contacts block as the server renders it now (the other side just shared or
  // stopped sharing). Our own page, parsed and adopted: no message text is in it.
  function refreshContacts() {
    var block = document.getElementById("bloc-coordonnees");
    if (!block) { return; }
    fetch(window.location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("bloc-coordonnees");
        if (fresh) { block.replaceWith(document.importNode(fresh, true)); }
      })
      .catch(function () { /* the next page load shows them */ });
  }

  function live(list) {
    if (typeof EventSource === "undefined") { return; }
    var matchId = list.dataset.liveConversation;
    var after = parseInt(list.dataset.after || "0", 10) || 0;

    function append(message) {
      if (document.getElementById("message-" + message.id)) { return; }
      var empty = document.getElementById("no-message");
      if (empty) { empty.remove(); }
      list.appendChild(messageItem(list, message));
      after = Math.max(after, message.id);
    }

    // A reconnection asks for what came after the last message shown (the browser
    // also sends Last-Event-ID when it reconnects by itself).
    window.voisinsKeepOpen(function (opened) {
      var source = new EventSource("/api/v1/matches/" + encodeURIComponent(matchId) +
        "/conversation/events?after=" + after);
      source.addEventListener("message", function (event) {
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message && typeof message.id === "number") { append(message); }
      });
      source.addEventListener("contacts", refreshContacts);
      source.addEventListener("ready", function () {
        opened();
        list.setAttribute("data-live-ready", "");  // subscribed: what is sent now arrives
      });
      return source;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.querySelector("[data-live-conversation]");
    if (list) { live(list); }
  });
})();
