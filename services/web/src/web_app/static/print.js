/* The receipt's "Print" button: shown only when this script runs (the browser's own print works without it). */
(function () {
  "use strict";
  var button = document.getElementById("print");
  if (!button) { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
}());
