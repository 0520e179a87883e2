//! Response codes → errors an application can act on.
//!
//! Success rules (OPENBANKING.md §7.2): an inquiry API succeeded iff `rsp_code == "A0000"`; the
//! token endpoint succeeded iff there is no `rsp_code` and there is an `access_token`. The HTTP
//! status alone never decides success: the gateway answers errors as HTTP 200 bodies, while
//! non-2xx answers without a parsable body are transport failures.

use crate::tran_id::TranIdError;
use crate::wire::{ApiResponse, BankBlock, TokenResponse};

/// What went wrong talking to Open Banking, grouped by what the caller should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// The user's consent or token is no longer usable: send them through authorize again
    /// (O0002, O0003, O0014, O0015, consent-expired/withdrawn-user A-codes, bank code 468).
    #[error("the bank link must be renewed ({code}): {message}")]
    RelinkNeeded { code: String, message: String },
    /// A temporary failure: transport error, timeout, HTTP 5xx, A0003/A0007/A0013/A0016/A0017/
    /// A0020, quota O-codes (O0008/O0009/O0012/O0013). Retrying later may succeed.
    #[error("temporary failure, retry later: {reason}")]
    RetryLater {
        code: Option<String>,
        reason: String,
    },
    /// The request was malformed or rejected as such (O0001, O0010, A0004 …); `detail` is the
    /// bracketed detail code or text (e.g. `3000201`, `992`).
    #[error("request rejected ({code}): {message}")]
    BadRequest {
        code: String,
        message: String,
        detail: Option<String>,
    },
    /// The client is not allowed to do this (O0004–O0007, O0011 scope, A0010–A0012, A0301 …).
    #[error("not permitted ({code}): {message}")]
    NotPermitted { code: String, message: String },
    /// The `bank_tran_id` was already used today (A0326). Retry with a new id.
    #[error("duplicate bank_tran_id (A0326)")]
    DuplicateTranId { message: String },
    /// The participating bank refused (A0002 and friends); `bank_rsp_code` says why.
    #[error("bank error {bank_rsp_code}: {message}")]
    Bank {
        bank_code_tran: String,
        bank_rsp_code: String,
        message: String,
    },
    /// The account or user is unknown or not registered for this user (A0304, A0323, A0337 …).
    #[error("unknown or unregistered account ({code}): {message}")]
    UnknownAccount { code: String, message: String },
    /// An authorization code or refresh token was rejected at the token endpoint (used,
    /// expired, or a token response without an access token).
    #[error("authorization grant rejected: {message}")]
    InvalidGrant {
        code: Option<String>,
        message: String,
    },
    /// Any other response code.
    #[error("unexpected response code {code}: {message}")]
    Unexpected { code: String, message: String },
    /// A body that is not what the API sends (bad JSON, a field that does not parse).
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// No `bank_tran_id` could be allocated.
    #[error("cannot allocate bank_tran_id: {0}")]
    TranId(#[from] TranIdError),
    /// Misconfiguration detected on our side (bad base URL, unbuildable HTTP client).
    #[error("client configuration: {0}")]
    Config(String),
}

impl BankError {
    /// True when retrying the same call later may succeed (for duplicates: with a new id,
    /// which the client does by itself).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BankError::RetryLater { .. } | BankError::DuplicateTranId { .. }
        )
    }

    /// True when the user must link their accounts again.
    pub fn needs_relink(&self) -> bool {
        matches!(self, BankError::RelinkNeeded { .. })
    }

    /// The center's response code, when there was one.
    pub fn code(&self) -> Option<&str> {
        match self {
            BankError::RelinkNeeded { code, .. }
            | BankError::BadRequest { code, .. }
            | BankError::NotPermitted { code, .. }
            | BankError::UnknownAccount { code, .. }
            | BankError::Unexpected { code, .. } => Some(code),
            BankError::RetryLater { code, .. } | BankError::InvalidGrant { code, .. } => {
                code.as_deref()
            }
            BankError::DuplicateTranId { .. } => Some("A0326"),
            BankError::Bank { .. } => Some("A0002"),
            BankError::InvalidResponse(_) | BankError::TranId(_) | BankError::Config(_) => None,
        }
    }
}

/// The text inside the last `[...]` of a message, with inner parentheses/brackets stripped:
/// `인증 파라미터 오류([992])` → `992`.
pub fn bracket_detail(message: &str) -> Option<String> {
    let start = message.rfind('[')?;
    let end = message[start..].find(']')? + start;
    let inner = message[start + 1..end].trim();
    if inner.is_empty() {
        None
    } else {
        Some(inner.to_string())
    }
}

/// Bank response codes that mean consent is gone.
const BANK_RELINK_CODES: &[&str] = &["468", "551", "555", "556"];

/// Classifies an `rsp_code` (with the bank block, if any). `Ok(())` only for `A0000`.
pub fn classify(
    rsp_code: &str,
    rsp_message: &str,
    bank: Option<&BankBlock>,
) -> Result<(), BankError> {
    let code = rsp_code.trim().to_string();
    let message = rsp_message.to_string();
    match code.as_str() {
        "A0000" => Ok(()),
        "" => Err(BankError::InvalidResponse(
            "response without rsp_code".into(),
        )),
        "O0002" | "O0003" | "O0014" | "O0015" | "A0014" | "A0019" | "A0305" | "A0306" | "A0316"
        | "A0319" | "A0334" => Err(BankError::RelinkNeeded { code, message }),
        "O0007" | "O0008" | "O0009" | "O0012" | "O0013" | "A0003" | "A0007" | "A0013" | "A0015"
        | "A0016" | "A0017" | "A0020" => Err(BankError::RetryLater {
            code: Some(code),
            reason: message,
        }),
        "O0001" | "O0010" | "A0004" | "A0005" | "A0006" => {
            let detail = bracket_detail(&message);
            Err(BankError::BadRequest {
                code,
                message,
                detail,
            })
        }
        "O0004" | "O0005" | "O0006" | "O0011" | "A0010" | "A0011" | "A0012" | "A0301" | "A0302" => {
            Err(BankError::NotPermitted { code, message })
        }
        "A0326" | "A0008" => Err(BankError::DuplicateTranId { message }),
        "A0304" | "A0313" | "A0323" | "A0337" => Err(BankError::UnknownAccount { code, message }),
        "A0002" => {
            let bank = bank.cloned().unwrap_or_default();
            if BANK_RELINK_CODES.contains(&bank.bank_rsp_code.as_str()) {
                return Err(BankError::RelinkNeeded {
                    code: format!("A0002/{}", bank.bank_rsp_code),
                    message,
                });
            }
            let message = if bank.bank_rsp_message.is_empty() {
                message
            } else {
                bank.bank_rsp_message.clone()
            };
            Err(BankError::Bank {
                bank_code_tran: bank.bank_code_tran,
                bank_rsp_code: bank.bank_rsp_code,
                message,
            })
        }
        _ => Err(BankError::Unexpected { code, message }),
    }
}

/// Applies the inquiry success rule to a parsed `/v2.0` response.
pub fn check_api<R: ApiResponse>(response: &R) -> Result<(), BankError> {
    let env = response.envelope();
    classify(&env.rsp_code, &env.rsp_message, response.bank())
}

/// Applies the token success rule: no error `rsp_code` and an `access_token`. An `rsp_code`
/// of `A0000` is not an error, but does not make a body without an access token a success.
pub fn check_token(response: &TokenResponse) -> Result<(), BankError> {
    if let Some(code) = response.rsp_code.as_deref().filter(|c| !c.is_empty()) {
        let message = response.rsp_message.clone().unwrap_or_default();
        let detail = bracket_detail(&message);
        match code {
            // Used or expired authorization code / session.
            "O0001" if detail.as_deref() == Some("3002110") => {
                return Err(BankError::InvalidGrant {
                    code: Some(code.to_string()),
                    message,
                });
            }
            _ => classify(code, &message, None)?,
        }
    }
    if response.access_token.as_deref().is_none_or(str::is_empty) {
        return Err(BankError::InvalidGrant {
            code: None,
            message: "token response without access_token".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `openbanking_json` fuzz target: `{"rsp_code":"A0000"}` passed the token
    /// success rule without an access token.
    #[test]
    fn a_token_answer_needs_an_access_token_even_with_a0000() {
        let mut response = TokenResponse {
            rsp_code: Some("A0000".into()),
            ..Default::default()
        };
        assert!(matches!(
            check_token(&response),
            Err(BankError::InvalidGrant { .. })
        ));
        response.access_token = Some("token".into());
        assert_eq!(check_token(&response), Ok(()));
        response.rsp_code = Some("O0002".into());
        assert!(check_token(&response).is_err_and(|e| e.needs_relink()));
    }

    #[test]
    fn only_a0000_is_success() {
        assert_eq!(classify("A0000", "", None), Ok(()));
        assert!(classify("", "", None).is_err());
        assert!(classify("O0000", "", None).is_err());
    }

    #[test]
    fn codes_map_to_actionable_errors() {
        for c in ["O0002", "O0003", "O0014", "O0015", "A0316", "A0319"] {
            assert!(
                classify(c, "", None).is_err_and(|e| e.needs_relink()),
                "{c}"
            );
        }
        for c in [
            "A0003", "A0007", "A0013", "A0017", "A0020", "O0008", "O0009",
        ] {
            assert!(
                classify(c, "", None).is_err_and(|e| e.is_transient()),
                "{c}"
            );
        }
        assert_eq!(
            classify("O0001", "인증 파라미터 오류([3000201])", None),
            Err(BankError::BadRequest {
                code: "O0001".into(),
                message: "인증 파라미터 오류([3000201])".into(),
                detail: Some("3000201".into())
            })
        );
        assert!(matches!(
            classify("A0326", "dup", None),
            Err(BankError::DuplicateTranId { .. })
        ));
        assert!(matches!(
            classify("O0011", "", None),
            Err(BankError::NotPermitted { .. })
        ));
        assert!(matches!(
            classify("A9999", "", None),
            Err(BankError::Unexpected { .. })
        ));
        assert!(!classify("A0004", "", None).is_err_and(|e| e.is_transient()));
    }

    #[test]
    fn a0002_carries_the_bank_code() {
        let bank = BankBlock {
            bank_code_tran: "098".into(),
            bank_rsp_code: "818".into(),
            bank_rsp_message: "시뮬레이터 응답전문 조회에 실패하였습니다".into(),
            ..Default::default()
        };
        match classify("A0002", "참가기관 에러", Some(&bank)) {
            Err(BankError::Bank {
                bank_rsp_code,
                bank_code_tran,
                ..
            }) => {
                assert_eq!(bank_rsp_code, "818");
                assert_eq!(bank_code_tran, "098");
            }
            other => panic!("unexpected {other:?}"),
        }
        let bank = BankBlock {
            bank_rsp_code: "468".into(),
            ..Default::default()
        };
        assert!(classify("A0002", "", Some(&bank)).is_err_and(|e| e.needs_relink()));
    }

    #[test]
    fn token_success_rule() {
        let ok = TokenResponse {
            access_token: Some("t".into()),
            ..Default::default()
        };
        assert_eq!(check_token(&ok), Ok(()));
        assert!(matches!(
            check_token(&TokenResponse::default()),
            Err(BankError::InvalidGrant { .. })
        ));
        let used = TokenResponse {
            rsp_code: Some("O0001".into()),
            rsp_message: Some("인증 파라미터 오류([3002110])".into()),
            ..Default::default()
        };
        assert!(matches!(
            check_token(&used),
            Err(BankError::InvalidGrant { .. })
        ));
        let creds = TokenResponse {
            access_token: Some("t".into()),
            rsp_code: Some("O0001".into()),
            rsp_message: Some("인증 파라미터 오류([3000201])".into()),
            ..Default::default()
        };
        assert!(
            matches!(check_token(&creds), Err(BankError::BadRequest { detail: Some(d), .. }) if d == "3000201")
        );
    }

    #[test]
    fn bracket_details_are_extracted() {
        assert_eq!(
            bracket_detail("인증 파라미터 오류([992])").as_deref(),
            Some("992")
        );
        assert_eq!(
            bracket_detail("요청전문 포맷 에러 [bank_tran_id]").as_deref(),
            Some("bank_tran_id")
        );
        assert_eq!(bracket_detail("no detail"), None);
        assert_eq!(bracket_detail("broken [ detail"), None);
    }
}
