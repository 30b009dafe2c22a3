// /docs: Swagger UI that sends the signed-in session's CSRF token with every write it makes.
(function () {
  "use strict";

  var SAFE = { GET: true, HEAD: true, OPTIONS: true };
  var SESSION = "/api/v1/session";
  var token = null;
  // the session's token, asked once; a request waits for the answer before it is sent
  var asked = fetch(SESSION, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (body) { token = (body && body.csrf_token) || null; })
    .catch(function () { token = null; });

  function sameOrigin(url) {
    try { return new URL(url, window.location.href).origin === window.location.origin; }
    catch (e) { return false; }
  }

  function withToken(request) {
    var method = (request.method || "GET").toUpperCase();
    if (SAFE[method] || !sameOrigin(request.url)) { return request; }
    return asked.then(function () {
      if (token) { request.headers["X-CSRF-Token"] = token; }
      return request;
    });
  }

  // signing in or out from this page changes the session, and so its token
  function remember(response) {
    var path = "";
    try { path = new URL(response.url, window.location.href).pathname; } catch (e) { path = ""; }
    if (path === SESSION && response.ok) {
      var body = response.body || response.obj || {};
      token = body.csrf_token || null;
    }
    return response;
  }

  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
    requestInterceptor: withToken,
    responseInterceptor: remember
  });
})();
