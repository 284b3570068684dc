// The overview refreshes itself: every few seconds its figures are fetched again from the
// panel URL (same session, same origin) and swapped in. No library, no build step.
(function () {
  "use strict";
  function refresh(box) {
    var every = parseInt(box.getAttribute("data-every"), 10) || 5000;
    window.setInterval(function () {
      if (document.hidden) { return; }
      fetch(box.getAttribute("data-refresh"), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { if (!r.ok || r.redirected) { throw new Error(r.status); } return r.text(); })
        .then(function (html) { box.innerHTML = html; box.removeAttribute("data-stale"); })
        .catch(function () { box.setAttribute("data-stale", "1"); });
    }, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(refresh);
  });
})();
