// Turnout: behaviour shared by every page. No inline scripts anywhere (strict CSP);
// per-page scripts live beside this file.
(function () {
  "use strict";

  // An htmx request that fails says so on screen, next to nothing-in-particular: in
  // the page's live region, which screen readers announce. Never alert().
  function say(text, level) {
    var region = document.getElementById("messages");
    if (!region) return;
    var p = document.createElement("p");
    p.className = "message message--" + (level || "error");
    p.textContent = text;
    region.replaceChildren(p);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 403) say("You are not allowed to do that. Ask an organiser if you need to.");
    else if (status === 404) say("That is not there any more, or not yours to see. Reload the page.");
    else say("The server could not do that just now (error " + status + "). Try again in a moment.");
  });
  document.addEventListener("htmx:sendError", function () {
    say("No connection to Turnout. Check your signal and try again.", "warning");
  });
})();
