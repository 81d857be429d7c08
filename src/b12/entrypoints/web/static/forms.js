// Progressive enhancement of the b12 forms (they work without it).
// "Add another dose/event" adds an empty row in place instead of submitting the form;
// the error summary takes the focus when a form comes back with problems.
(function () {
  "use strict";
  document.querySelectorAll("button[data-add-row]").forEach(function (button) {
    var group = button.getAttribute("data-add-row");
    var template = document.getElementById("tpl-" + group);
    var list = document.getElementById("rows-" + group);
    var count = button.form && button.form.querySelector('input[name="rows.' + group + '"]');
    if (!template || !list || !count) { return; }
    button.type = "button";
    button.addEventListener("click", function () {
      var n = parseInt(count.value, 10) || list.children.length;
      var html = template.innerHTML.split("__N__").join(String(n)).split("__NUM__").join(String(n + 1));
      list.insertAdjacentHTML("beforeend", html);
      count.value = String(n + 1);
      var added = list.lastElementChild;
      var previous = added && added.previousElementSibling;
      if (previous) {  // a new dose is usually like the last one: same product, dose and route
        added.querySelectorAll("select").forEach(function (select) {
          var name = select.name.replace(/^(history|events)\.[0-9]+\./, "");
          var before = previous.querySelector('[name$=".' + name + '"]');
          if (before && before.tagName === "SELECT" && name !== "kind") { select.value = before.value; }
        });
        var dose = added.querySelector('input[name$=".dose.value"]');
        var doseBefore = previous.querySelector('input[name$=".dose.value"]');
        if (dose && doseBefore) { dose.value = doseBefore.value; }
      }
      var first = added && added.querySelector("input, select");
      if (first) { first.focus(); }
    });
  });
  var summary = document.getElementById("problems");
  if (summary) { summary.focus(); }
})();
