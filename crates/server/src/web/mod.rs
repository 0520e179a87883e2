//! The web app: an HTML shell for every screen's URL and the embedded, content-versioned static
//! assets (plain ES modules and one stylesheet, no build step). The shell is the same for every
//! screen; the client-side router in `app.js` renders the screen from the URL.
//!
//! Assets are compiled into the binary and served under `/assets/<version>/…`, where the version
//! is a digest of every asset's bytes: a release changes the URL, so the assets can be cached for
//! a year (`immutable`), while the shell itself is never cached.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($path:literal, $ty:expr) => {
        Asset {
            path: $path,
            content_type: $ty,
            body: include_bytes!(concat!("../../assets/", $path)),
        }
    };
}

/// Every file under `assets/`, embedded.
pub static ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("charts.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("i18n.js", JS),
    asset!("sha512.js", JS),
    asset!("ui.js", JS),
    asset!("screens/auth.js", JS),
    asset!("screens/bank.js", JS),
    asset!("screens/common.js", JS),
    asset!("screens/deposit.js", JS),
    asset!("screens/insight.js", JS),
    asset!("screens/insight_more.js", JS),
    asset!("screens/invest.js", JS),
    asset!("screens/operator.js", JS),
];

/// The content version in asset URLs: the first 12 hex digits of a SHA-256 over every asset.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for a in ASSETS {
        h.update(a.path.as_bytes());
        h.update([0]);
        h.update((a.body.len() as u64).to_le_bytes());
        h.update(a.body);
    }
    hex::encode(h.finalize())[..12].to_string()
});

/// Only our own origin, no inline script or style, no framing, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// The URL paths that answer the shell (the client-side router knows the same list).
pub const SCREENS: &[&str] = &[
    "/",
    "/login",
    "/signup",
    "/claim",
    "/accounts/{id}",
    "/deposit",
    "/bank",
    "/bank/{id}",
    "/link",
    "/insight",
    "/operator/runs",
    "/operator/runs/{id}",
];

/// The pages and assets, merged into the server's router.
pub fn routes() -> Router<AppState> {
    pages()
}

/// The same routes for any state (they use none), so they can be tested on their own.
pub fn pages<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new().route("/assets/{version}/{*path}", get(asset));
    for path in SCREENS {
        router = router.route(path, get(shell));
    }
    router
}

/// The HTML shell, with the current asset version in its URLs.
pub fn shell_html() -> String {
    let v = VERSION.as_str();
    format!(
        r##"<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta name="theme-color" content="#2f7a45">
<title>Ginkgo</title>
<link rel="icon" href="/assets/{v}/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/{v}/app.css">
<script type="module" src="/assets/{v}/app.js"></script>
</head>
<body>
<a class="skip-link" id="skip-link" href="#main">본문으로 건너뛰기</a>
<header class="site-header" id="site-header"></header>
<main id="main" tabindex="-1" aria-busy="true"><p class="muted">불러오는 중… / Loading…</p></main>
<noscript><p>Ginkgo needs JavaScript. Ginkgo를 쓰려면 자바스크립트를 켜 주세요.</p></noscript>
</body>
</html>
"##
    )
}

static SHELL: LazyLock<String> = LazyLock::new(shell_html);

fn security_headers(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
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
}

async fn shell() -> Response {
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        SHELL.as_str(),
    )
        .into_response();
    security_headers(&mut response);
    response
}

async fn asset(Path((version, path)): Path<(String, String)>) -> Response {
    if version != *VERSION {
        // An old (or made-up) version: never serve today's bytes under another release's URL.
        return ApiError::not_found("no such asset version").into_response();
    }
    let Some(a) = ASSETS.iter().find(|a| a.path == path) else {
        return ApiError::not_found("no such asset").into_response();
    };
    let mut response = (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(a.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        a.body,
    )
        .into_response();
    security_headers(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn call(path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let response = pages::<()>()
            .oneshot(
                Request::builder()
                    .uri(path)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .expect("body");
        (status, headers, body.to_vec())
    }

    #[tokio::test]
    async fn every_screen_url_answers_the_shell_with_a_strict_csp() {
        for path in [
            "/",
            "/login",
            "/accounts/12",
            "/bank/3",
            "/insight",
            "/deposit",
            "/link",
            "/operator/runs",
            "/operator/runs/7",
        ] {
            let (status, headers, body) = call(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            let csp = headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("csp");
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{csp}"
            );
            let html = String::from_utf8(body).expect("utf-8");
            assert!(html.contains(&format!("/assets/{}/app.js", *VERSION)));
            assert!(!html.contains("<script>"), "no inline script");
        }
    }

    #[tokio::test]
    async fn assets_are_served_under_the_current_version_only() {
        let (status, headers, body) =
            call(&format!("/assets/{}/screens/deposit.js", *VERSION)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], JS);
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .expect("cc")
                .contains("immutable")
        );
        assert!(
            String::from_utf8(body)
                .expect("utf-8")
                .contains("sha512Hex")
        );
        assert_eq!(
            call("/assets/0123456789ab/app.js").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&format!("/assets/{}/nope.js", *VERSION)).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&format!("/assets/{}/../Cargo.toml", *VERSION)).await.0,
            StatusCode::NOT_FOUND
        );
    }

    /// Every relative `import … from './x.js'` in the scripts names an embedded asset, and every
    /// file in `assets/` is embedded.
    #[test]
    fn every_module_import_and_every_file_is_embedded() {
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(a.body).expect("utf-8");
            let dir = a.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(spec) = line.split(['\'', '"']).nth(1) else {
                    continue;
                };
                let mut parts: Vec<&str> = if dir.is_empty() {
                    vec![]
                } else {
                    dir.split('/').collect()
                };
                for seg in spec.split('/') {
                    match seg {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        s => parts.push(s),
                    }
                }
                let resolved = parts.join("/");
                assert!(
                    ASSETS.iter().any(|x| x.path == resolved),
                    "{} imports {spec} ({resolved}), not embedded",
                    a.path
                );
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read assets") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(&root)
                        .expect("prefix")
                        .to_string_lossy()
                        .replace('\\', "/");
                    assert!(
                        ASSETS.iter().any(|a| a.path == rel),
                        "{rel} is in assets/ but not embedded"
                    );
                }
            }
        }
    }

    /// The server's screen URLs and the client router's routes are the same list.
    #[test]
    fn the_server_and_the_client_router_know_the_same_screens() {
        let app = ASSETS.iter().find(|a| a.path == "app.js").expect("app.js");
        let app = std::str::from_utf8(app.body).expect("utf-8");
        let client: Vec<&str> = app
            .lines()
            .filter_map(|l| l.trim().strip_prefix("[/^"))
            .filter_map(|l| l.split_once("$/").map(|(re, _)| re))
            .collect();
        let server: Vec<String> = SCREENS
            .iter()
            .map(|p| p.replace('/', "\\/").replace("{id}", "(\\d+)"))
            .collect();
        assert_eq!(client, server);
    }

    #[test]
    fn the_version_is_twelve_hex_digits() {
        assert_eq!(VERSION.len(), 12);
        assert!(VERSION.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
