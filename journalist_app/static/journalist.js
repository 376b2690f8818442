// Progressive enhancement only: every feature works without this file.
// Adds "select all" checkboxes to the inbox and source page.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input.select-all").forEach(function (box) {
    box.hidden = false;
    var label = document.querySelector('label[for="' + box.id + '"]');
    if (label) { label.hidden = false; }
    box.addEventListener("change", function () {
      var form = box.form;
      if (!form) { return; }
      form.querySelectorAll('input[type=checkbox][name="' + box.dataset.group + '"]').forEach(function (item) {
        item.checked = box.checked;
      });
    });
  });
});
