//! The one error shape of every 4xx/5xx answer, and where store errors get their HTTP meaning.
//!
//! ```json
//! {"error": {"code": "not_found", "message": "no such account", "request_id": "…"}}
//! ```
//! The request id is added by the response middleware (`errors_carry_request_id`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ginkgo_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    /// Present (always `false`) on the original `/api/transfers` alias only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = false)]
    pub status: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `not_found`, `validation_failed`.
    #[schema(example = "not_found")]
    pub code: String,
    /// A precise, human-readable explanation.
    #[schema(example = "no such account")]
    pub message: String,
    /// The id of the request, to quote when asking for help.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "5b0e8f2c-6a1d-4c3e-9f7a-2d8b1c4e6f90")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `Some(false)` on the `/api/transfers` alias.
    pub alias_status: Option<bool>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            alias_status: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }
    pub fn with_alias_status(mut self) -> Self {
        self.alias_status = Some(false);
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("not found"),
            StoreError::Conflict(m) => ApiError::conflict("conflict", m),
            StoreError::Rejected(m) => ApiError::validation(m),
            StoreError::Busy(m) => {
                tracing::warn!(error = %m, "database busy");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the service is busy; retry shortly",
                )
            }
            StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry shortly",
                )
            }
            StoreError::Config(m) | StoreError::Internal(m) => {
                tracing::error!(error = %m, "store error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                request_id: None,
            },
            status: self.alias_status,
        };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Response middleware: every error answer (including axum's own 404/405/413, the request
/// timeout's 503 and a caught panic's 500) leaves in the common shape and names the request id.
pub async fn errors_carry_request_id(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut value: serde_json::Value = if is_json {
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
    } else {
        serde_json::Value::Null
    };
    if value.get("error").and_then(|e| e.get("code")).is_none() {
        let (code, message) = default_error(status, &bytes);
        value = serde_json::json!({"error": {"code": code, "message": message}});
    }
    if let (Some(id), Some(err)) = (
        request_id,
        value.get_mut("error").and_then(|e| e.as_object_mut()),
    ) {
        err.insert("request_id".into(), serde_json::Value::String(id));
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_vec(&value).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}

fn default_error(status: StatusCode, body: &[u8]) -> (&'static str, String) {
    let text = String::from_utf8_lossy(body).trim().to_string();
    match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route".into()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not accept that method".into(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("payload_too_large", "the request body is too large".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            if text.is_empty() {
                "expected Content-Type: application/json".into()
            } else {
                text
            },
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "the server could not answer in time; retry shortly".into(),
        ),
        s if s.is_server_error() => ("internal", "an internal error occurred".into()),
        _ => (
            "bad_request",
            if text.is_empty() {
                "bad request".into()
            } else {
                text
            },
        ),
    }
}
