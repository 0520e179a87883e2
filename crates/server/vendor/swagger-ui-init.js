// Starts the API explorer on this server's own OpenAPI document (no inline script: the page's
// Content-Security-Policy allows scripts from this origin only).
window.addEventListener('load', () => {
  window.SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
