/* Authorising a payment the bank wants to confirm (templates/authorize.html): Stripe.js runs the bank's check
   (3-D Secure) on the PaymentIntent billing-service answered, then the form posts and the server reads the outcome
   back from Stripe, whatever the browser was told. A file of the app: the page's Content-Security-Policy allows no
   inline script. */
(function () {
  "use strict";
  var form = document.getElementById("pay-form");
  if (!form || typeof window.Stripe !== "function") { return; }
  var data = form.dataset;
  var options = {locale: data.locale};
  if (data.account) { options.stripeAccount = data.account; }
  var stripe = window.Stripe(data.publishableKey, options);
  var button = document.getElementById("pay-submit");
  var status = document.getElementById("pay-status");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    status.textContent = data.messageWaiting;
    var confirm = data.paymentMethod ? {payment_method: data.paymentMethod} : {};
    stripe.confirmCardPayment(data.clientSecret, confirm).then(function () {
      form.submit();  // paid, refused or still waiting: the server asks Stripe and says which
    }, function () {
      status.textContent = data.messageUnavailable;
      button.disabled = false;
    });
  });
}());
