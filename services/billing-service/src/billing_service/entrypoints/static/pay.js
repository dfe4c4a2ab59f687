// The 3-D Secure page with the real Stripe API: Stripe.js confirms the card payment (the bank's check in Stripe's
// own frame), then the page posts back so that billing-service reads the outcome from Stripe at once (the webhook
// would too). What Stripe.js needs comes from the button's data attributes: no inline script on the page.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("confirm");
  var data = button.dataset;
  var stripe = data.account ? Stripe(data.publishableKey, {stripeAccount: data.account}) : Stripe(data.publishableKey);
  button.addEventListener("click", async function () {
    button.disabled = true;
    document.getElementById("status").textContent = "Waiting for your bank...";
    await stripe.confirmCardPayment(data.clientSecret, {payment_method: data.paymentMethod});
    document.getElementById("done").submit(); // we then read the outcome from Stripe ourselves
  });
});
