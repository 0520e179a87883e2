//! The router and the serve loop. Tests and the binary start the same thing: `serve` takes a
//! bound listener and a shutdown future.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, errors_carry_request_id};
use crate::routes;
use crate::state::AppState;

/// Request bodies above this answer 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A request still running after this answers 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A panicking handler answers 500 (in the common shape, by `errors_carry_request_id`); the
/// panic is logged once, here.
fn log_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a handler panicked".into());
    tracing::error!(panic = %message, "handler panicked");
    axum::response::IntoResponse::into_response(StatusCode::INTERNAL_SERVER_ERROR)
}

pub fn router(state: AppState) -> Router {
    crate::metrics::handle();
    let in_flight = crate::limits::InFlight::new(state.config().limits.max_in_flight);
    with_middleware(
        Router::new()
            .merge(routes::system::routes())
            .merge(
                routes::auth::routes().route_layer(middleware::from_fn_with_state(
                    state.clone(),
                    crate::limits::limit_auth,
                )),
            )
            .merge(routes::investments::routes())
            .merge(routes::assets::routes())
            .merge(routes::deposits::routes())
            .merge(routes::batch::routes())
            .merge(routes::bank::routes())
            .merge(routes::insight::routes())
            .merge(routes::insight_tx::routes())
            .merge(crate::web::routes())
            .merge(crate::apidocs::routes())
            .fallback(|| async { ApiError::not_found("no such route") })
            .method_not_allowed_fallback(|| async {
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "this route does not accept that method",
                )
            })
            .with_state(state),
        REQUEST_TIMEOUT,
        in_flight,
    )
}

/// The middleware every route runs under, outermost last.
fn with_middleware(
    routes: Router,
    timeout: Duration,
    in_flight: crate::limits::InFlight,
) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    routes
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(log_panic))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        // Before the timeout and the handler: a full server sheds at once.
        .layer(middleware::from_fn_with_state(
            in_flight,
            crate::limits::shed_load,
        ))
        .layer(middleware::from_fn(crate::metrics::track))
        // Outside the panic catcher and the timeout, so their answers take the common shape too.
        .layer(middleware::from_fn(errors_carry_request_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The route template, never the raw path: ids and account numbers stay out of logs.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "unmatched".into());
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_string();
                    tracing::info_span!("request", method = %req.method(), route, request_id = id)
                })
                // One access line per request at INFO, in the request's span (method, route template,
                // request id): status and latency only, never the path, query, headers or body.
                .on_request(())
                .on_response(access_log)
                .on_failure(()),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
            axum::http::header::COOKIE,
        ]))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// The access log line (target `ginkgo_server::access`, so `GINKGO_LOG` can tune it alone).
fn access_log(response: &axum::response::Response, latency: Duration, _span: &tracing::Span) {
    let latency_ms = latency.as_secs_f64() * 1000.0;
    tracing::info!(
        target: "ginkgo_server::access",
        status = response.status().as_u16(),
        latency_ms = format_args!("{latency_ms:.2}"),
        "answered"
    );
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // One-off work migrations asked for (the NFKC re-file): in the background, so that a large
    // database does not delay serving; it is idempotent, and done once it finished.
    let tasks = state.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::insight::run_pending_tasks(&tasks).await {
            tracing::error!(error = ?e, "pending migration task failed; retried at the next start");
        }
    });
    let drain = Duration::from_secs(state.config().shutdown_drain_seconds);
    let flag = state.clone();
    let shutdown = async move {
        shutdown.await;
        // Not ready from now on; keep serving for the drain period so a load balancer sees
        // the 503 and stops routing here before the listener closes.
        flag.begin_shutdown();
        if !drain.is_zero() {
            tracing::info!(seconds = drain.as_secs(), "draining: /readyz answers 503");
            tokio::time::sleep(drain).await;
        }
    };
    let header_read_timeout = crate::limits::header_read_timeout(&state);
    let connections = Arc::new(Semaphore::new(state.config().limits.max_connections.max(1)));
    let app = router(state);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(stop_rx);
    });
    // Each connection task holds a receiver: when all are dropped, every connection is done.
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    loop {
        // The connection cap: past it, new clients wait in the kernel's backlog.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = stop_tx.closed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop_tx.closed() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let stop = stop_tx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(header_read_timeout)
                .keep_alive_timeout(header_read_timeout);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let mut stopping = std::pin::pin!(stop.closed());
            let mut stop_seen = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = &mut stopping, if !stop_seen => {
                        stop_seen = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(permit);
            drop(done);
        });
    }
    drop(listener);
    drop(done_rx);
    // Finish the requests in flight.
    done_tx.closed().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    async fn panics() -> &'static str {
        panic!("boom")
    }

    async fn answer(path: &str) -> (StatusCode, serde_json::Value) {
        let app = with_middleware(
            Router::new().route("/panic", get(panics)).route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late"
                }),
            ),
            Duration::from_millis(50),
            crate::limits::InFlight::new(16),
        );
        let response = app
            .oneshot(
                Request::builder()
                    .uri(path)
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        let status = response.status();
        assert_eq!(
            response
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{path} answers JSON"
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&body).expect("a JSON body"))
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_common_shape() {
        let (status, body) = answer("/panic").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
        assert!(body["error"]["request_id"].is_string(), "{body}");
        assert!(
            !body.to_string().contains("boom"),
            "panic text stays in the logs"
        );
    }

    #[tokio::test]
    async fn a_request_over_the_timeout_answers_503_in_the_common_shape() {
        let (status, body) = answer("/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(body["error"]["request_id"].is_string(), "{body}");
    }

    #[tokio::test]
    async fn a_full_server_sheds_with_503_and_retry_after_and_serves_again_once_free() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let entered = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
        let held = gate.clone();
        let app = with_middleware(
            Router::new()
                .route(
                    "/hold",
                    get(move || {
                        let held = held.clone();
                        let entered = entered.clone();
                        async move {
                            if let Some(tx) = entered.lock().expect("lock").take() {
                                let _ = tx.send(());
                            }
                            held.notified().await;
                            "done"
                        }
                    }),
                )
                .route("/livez", get(|| async { "alive" })),
            Duration::from_secs(30),
            crate::limits::InFlight::new(1),
        );
        let get_path = |path: &str| {
            Request::builder()
                .uri(path)
                .body(axum::body::Body::empty())
                .expect("request")
        };
        let first = tokio::spawn(app.clone().oneshot(get_path("/hold")));
        entered_rx
            .await
            .expect("the first request holds the only slot");
        let shed = app
            .clone()
            .oneshot(get_path("/hold"))
            .await
            .expect("infallible");
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(shed.headers()["retry-after"], "1");
        let body = axum::body::to_bytes(shed.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["error"]["code"], "overloaded", "{body}");
        assert!(body["error"]["request_id"].is_string(), "{body}");
        let alive = app
            .clone()
            .oneshot(get_path("/livez"))
            .await
            .expect("infallible");
        assert_eq!(alive.status(), StatusCode::OK, "liveness is never shed");
        gate.notify_one();
        let first = first.await.expect("task").expect("infallible");
        assert_eq!(first.status(), StatusCode::OK);
        let again = app.oneshot(get_path("/livez")).await.expect("infallible");
        assert_eq!(again.status(), StatusCode::OK);
    }
}
