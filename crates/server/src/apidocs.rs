//! The OpenAPI explorer at `/api/docs`: Swagger UI, vendored (`vendor/swagger-ui/`) and
//! compiled into the binary, so it works offline; its page has its own Content-Security-Policy
//! (Swagger UI sets inline styles, which the web app's policy forbids), still without inline or
//! foreign scripts.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

const BUNDLE: &[u8] = include_bytes!("../vendor/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../vendor/swagger-ui/swagger-ui.css");
const INIT: &[u8] = include_bytes!("../vendor/swagger-ui-init.js");

/// Scripts and connections to this origin only; inline styles allowed (Swagger UI's own).
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ginkgo API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</head>
<body>
<main id="swagger-ui" aria-label="Ginkgo API"></main>
<noscript><p>The API explorer needs JavaScript; the document itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</p></noscript>
</body>
</html>
"#;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/docs", get(page))
        .route("/api/docs/", get(page))
        .route(
            "/api/docs/swagger-ui-bundle.js",
            get(|| async { file("text/javascript; charset=utf-8", BUNDLE) }),
        )
        .route(
            "/api/docs/swagger-ui.css",
            get(|| async { file("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/api/docs/init.js",
            get(|| async { file("text/javascript; charset=utf-8", INIT) }),
        )
}

fn with_policy(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn page() -> Response {
    with_policy(
        (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            PAGE,
        )
            .into_response(),
    )
}

fn file(content_type: &'static str, body: &'static [u8]) -> Response {
    with_policy(
        (
            [
                (header::CONTENT_TYPE, content_type),
                // The files change only with a release; a day is a fair compromise.
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            body,
        )
            .into_response(),
    )
}
