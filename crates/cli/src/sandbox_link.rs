//! Linking a login to a sandbox user without a browser, for benchmarks, the soak run and the
//! fault tests: the sandbox registers the accounts and issues a user token, and Ginkgo stores it
//! encrypted exactly as the OAuth callback does.

use anyhow::Context;
use ginkgo_sandbox::SandboxHandle;
use ginkgo_server::AppState;
use ginkgo_store::UserId;

/// Registers `fintech_use_nums` for `user_seq_no` and saves the link for `user_id`.
pub async fn link_directly(
    state: &AppState,
    handle: &SandboxHandle,
    user_id: UserId,
    user_seq_no: &str,
    fintech_use_nums: &[&str],
) -> anyhow::Result<()> {
    handle.register_accounts(user_seq_no, fintech_use_nums)?;
    let tokens = handle.issue_user_token(user_seq_no, &["inquiry", "login"])?;
    let cipher = state
        .cipher()
        .context("bank linking is not configured (no token key)")?;
    let now = chrono::Utc::now();
    state
        .store()
        .save_bank_link(ginkgo_store::NewBankLink {
            user_id,
            user_seq_no: user_seq_no.to_string(),
            access_token_enc: cipher
                .encrypt(tokens.access_token.as_deref().context("no access token")?),
            refresh_token_enc: None,
            scope: "inquiry login".into(),
            access_expires_at: now + chrono::Duration::days(80),
            now,
        })
        .await?;
    Ok(())
}
