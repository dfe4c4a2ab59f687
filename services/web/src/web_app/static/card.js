/* Saving a card (templates/card.html): Stripe.js takes the card's details in its own element and confirms the
   SetupIntent the server started, 3-D Secure included when the bank asks; the card's number never reaches this
   app. On success the form posts the SetupIntent's id and the server records the card; on a refusal the message
   goes by the field and in the error summary, as the server shows its own. A file of the app: the page's
   Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof window.Stripe !== "function") { return; }
  var data = form.dataset;
  var stripe = window.Stripe(data.publishableKey, {locale: data.locale});
  var card = stripe.elements({locale: data.locale}).create("card");
  card.mount("#card-element");
  var button = document.getElementById("card-submit");

  function showError(message) {
    var summary = document.getElementById("error-summary");
    var list = summary.querySelector("ul");
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = "#card-element";
    link.textContent = message;
    item.appendChild(link);
    list.replaceChildren(item);
    summary.hidden = false;
    document.getElementById("card-error-text").textContent = message;
    document.getElementById("card-error").hidden = false;
    document.getElementById("card-field").classList.add("field--error");
    if (document.title.indexOf(summary.dataset.prefix || "") !== 0 && summary.dataset.prefix) {
      document.title = summary.dataset.prefix + " " + document.title;
    }
    summary.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    stripe.confirmCardSetup(data.clientSecret, {
      payment_method: {card: card, billing_details: {name: data.name, email: data.email}}
    }).then(function (result) {
      if (result.error) {
        var reason = result.error.message || String(result.error);
        showError(data.messageFailed + " " + reason);
        button.disabled = false;
        return;
      }
      form.elements.setup_intent_id.value = result.setupIntent.id;
      form.submit();
    }, function () {
      showError(data.messageUnavailable);
      button.disabled = false;
    });
  });
}());
