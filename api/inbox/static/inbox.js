// The inbox works without this file; it only makes two things smoother:
// - the task list stays live: its fragment is fetched every 3 seconds and swapped in;
// - a form marked data-once is sent once, however often it is tapped (the server's
//   idempotency key already makes a repeated reply harmless; this keeps the page calm).
// No inline script anywhere: the Content-Security-Policy allows only this file.
(function () {
  "use strict";

  var POLL_MS = 3000;

  function busyWith(container) {
    var active = document.activeElement;
    return active && container.contains(active) && /^(SELECT|INPUT|TEXTAREA)$/.test(active.tagName);
  }

  function live(container) {
    var url = container.getAttribute("data-live");
    var running = false;

    async function refresh() {
      if (running || document.hidden) return;
      running = true;
      try {
        var response = await fetch(url, {
          credentials: "same-origin",
          cache: "no-store",
          headers: { "X-Inbox-Fragment": "1" },
        });
        if (response.status === 401) {
          window.location.assign("/inbox/sign-in");
          return;
        }
        if (response.ok) {
          var html = await response.text();
          // A manager choosing whom to assign a task to keeps the list still until done.
          if (!busyWith(container) && container.innerHTML !== html) {
            container.innerHTML = html; // the server's own, autoescaped HTML
            container.querySelectorAll("form[data-once]").forEach(once);
          }
        }
      } catch (error) {
        // Offline for a moment: the next round tries again.
      } finally {
        running = false;
      }
    }

    window.setInterval(refresh, POLL_MS);
    document.addEventListener("visibilitychange", refresh);
  }

  function once(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      form.classList.add("sending");
    });
  }

  // Back from the next page (the browser's page cache): the forms may be used again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      document.querySelectorAll("form[data-once]").forEach(function (form) {
        delete form.dataset.sent;
        form.classList.remove("sending");
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(live);
    document.querySelectorAll("form[data-once]").forEach(once);
  });
})();
