// The console's subscription form: its estimate follows the form as it is filled in (the products, quantities and
// methods are sent to the page's estimate address, which answers the estimate's HTML). Without this script the
// form's "Update the estimate" button does the same with a plain post.
(function () {
  "use strict";
  var form = document.querySelector("form[data-estimate-url]");
  var region = document.getElementById("estimate");
  if (!form || !region || !window.fetch) { return; }
  var timer = null;
  var asked = 0;
  function update() {
    var mine = ++asked;
    fetch(form.getAttribute("data-estimate-url"), {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (resp) {
      return resp.ok ? resp.text() : null;
    }).then(function (html) {
      if (html !== null && mine === asked) { region.innerHTML = html; }
    }).catch(function () { /* the button still works */ });
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, 300);
  }
  form.addEventListener("change", function (event) {
    if (event.target.matches("select, input[type=number], input[type=text]")) { later(); }
  });
  form.addEventListener("input", function (event) {
    if (event.target.matches("input[type=number]")) { later(); }
  });
}());
