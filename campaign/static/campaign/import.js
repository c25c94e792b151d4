// Import upload: a file dropped on the box is handed to the ordinary file input, so
// the form posts it exactly as if it had been picked.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var zone = document.querySelector("[data-dropzone]");
    if (!zone) { return; }
    var input = zone.querySelector("input[type=file]");
    var chosen = zone.querySelector("[data-dropzone-chosen]");
    function show() {
      if (chosen) { chosen.textContent = input.files.length ? "Chosen: " + input.files[0].name : ""; }
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dropzone--over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dropzone--over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
  });
})();
