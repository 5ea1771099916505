// tada's console: small enhancements only; every page works without this file.
// A "Copy" button copies the text of the element its data-copy names (a URL is shown as text,
// never as a link, so copying is how a caseworker takes it to a platform's form).
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy[data-copy]");
  if (!button) { return; }
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) { return; }
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || "✓";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});
