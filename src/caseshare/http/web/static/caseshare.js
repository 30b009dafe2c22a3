// caseshare's enhancements; every page works without them.
(function () {
  "use strict";

  // The people picker searches as you type; without this script its Search button does.
  function enhancePicker(picker) {
    var input = picker.querySelector("input[type=search]");
    var results = picker.querySelector(".picker-results");
    if (!input || !results) { return; }
    var timer = null;
    var last = input.value.trim();
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var q = input.value.trim();
        if (q === last) { return; }
        last = q;
        var checked = results.querySelector("input:checked");
        var params = new URLSearchParams({
          q: q,
          field: picker.dataset.field || "who",
          kinds: picker.dataset.kinds || "user",
          owners: picker.dataset.owners || "",
          multiple: picker.dataset.multiple || "",
          form: picker.dataset.form || "",
          selected: checked ? checked.value : ""
        });
        fetch("/pick?" + params.toString(), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (html !== null && input.value.trim() === q) { results.innerHTML = html; }
          })
          .catch(function () { /* the Search button still works */ });
      }, 250);
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-picker]"), enhancePicker);
    // GOV.UK: move focus to the error summary so a screen reader reads it first
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
