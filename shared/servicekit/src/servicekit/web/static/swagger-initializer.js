// Starts Swagger UI (swagger-ui-bundle.js, served by the app) on the OpenAPI document the page names. A file of its
// own, not an inline script: the pages' Content-Security-Policy allows scripts from the app only.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null // no call to the public validator: the docs work in a closed network
  });
});
