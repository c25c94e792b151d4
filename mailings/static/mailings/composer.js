// The drive composer: merge-field picker, one-tap fixes for misspelt fields, audience
// presets, and choosing whom to preview as. The live parts (checks, count, preview)
// are htmx requests, debounced, and each replaces the one before it (hx-sync), so
// typing never waits for the server.
(function () {
  "use strict";

  var lastText = null; // the subject or body the cursor was last in

  function textField(part) {
    return document.getElementById(part === "subject" ? "id_subject" : "id_body");
  }

  function changed(element) {
    element.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("focusin", function (event) {
    if (event.target.id === "id_subject" || event.target.id === "id_body") lastText = event.target;
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;

    if (button.classList.contains("merge-insert")) {
      var target = lastText || textField("body");
      var token = "{{ " + button.dataset.field + " }}";
      var start = target.selectionStart == null ? target.value.length : target.selectionStart;
      var end = target.selectionEnd == null ? start : target.selectionEnd;
      target.value = target.value.slice(0, start) + token + target.value.slice(end);
      target.focus();
      target.setSelectionRange(start + token.length, start + token.length);
      changed(target);
    } else if (button.classList.contains("merge-fix")) {
      var field = textField(button.dataset.part);
      var wrong = button.dataset.unknown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      field.value = field.value.replace(
        new RegExp("\\{\\{\\s*" + wrong + "\\s*\\}\\}", "g"),
        "{{ " + button.dataset.suggestion + " }}"
      );
      field.focus();
      changed(field);
    } else if (button.classList.contains("preset")) {
      var wanted = button.dataset.statuses.split(" ");
      document.querySelectorAll('input[name="gotv_statuses"]').forEach(function (box) {
        box.checked = wanted.indexOf(box.value) !== -1;
      });
      document.body.dispatchEvent(new Event("presets-changed"));
      document.body.dispatchEvent(new Event("preview-as"));
    } else if (button.classList.contains("preview-as")) {
      document.getElementById("preview-contact").value = button.dataset.contact;
      document.getElementById("preview-search").value = button.dataset.name;
      document.getElementById("people-found").replaceChildren();
      document.body.dispatchEvent(new Event("preview-as"));
    }
  });
})();
