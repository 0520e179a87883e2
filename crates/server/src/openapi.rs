//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    assets, auth, bank, batch, deposits, insight, insight_tx, investments, system,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ginkgo",
        description = "Customer asset service: investment accounts from the daily provider snapshot, \
                       two-phase deposits, and bank accounts through Open Banking.\n\n\
                       Every error answers `{\"error\": {\"code\", \"message\", \"request_id\"}}`.",
        version = "1.0.0"
    ),
    paths(
        system::livez, system::readyz, system::healthz, system::metrics, system::openapi,
        auth::signup, auth::login, auth::refresh, auth::logout, auth::claim, auth::me,
        investments::list_accounts, investments::account_detail, investments::account_holdings,
        investments::account_allocation, investments::account_history, investments::total_allocation,
        investments::total_history, assets::history, investments::legacy_investments,
        investments::legacy_holdings,
        deposits::create, deposits::confirm, deposits::list, deposits::attempts, deposits::legacy_create,
        deposits::legacy_confirm,
        batch::runs, batch::run, batch::findings, batch::rejects_csv, batch::release, batch::stale_accounts,
        bank::link, bank::callback, bank::unlink, bank::sync, bank::syncs, bank::sync_record, bank::accounts, bank::unlink_account, bank::transactions, bank::refile,
        insight::categories, insight::spending, insight::weekly, insight::monthly, insight::recurring,
        insight::upcoming_payments, insight::list_rules, insight::create_rule, insight::update_rule,
        insight::delete_rule, insight::reorder_rules, insight::preview_rule,
        insight::so_far_view, insight::fixed_costs, insight::dismiss_series, insight::restore_series,
        insight::add_series, insight::suggest_rule,
        insight_tx::search, insight_tx::export, insight_tx::unpair, insight_tx::repair,
    ),
    modifiers(&BearerAuth, &CommonErrors),
    tags(
        (name = "auth", description = "Sign-up, login, sessions"),
        (name = "investments", description = "Investment accounts from the daily snapshot"),
        (name = "deposits", description = "Two-phase, SHA-512-verified deposits"),
        (name = "batch", description = "Daily snapshot runs (operators)"),
        (name = "bank", description = "Bank accounts through Open Banking"),
        (name = "insight", description = "Spending by category, weekly and monthly series, recurring payments"),
        (name = "rules", description = "The customer's own category rules"),
        (name = "original", description = "The original service's routes, kept as aliases"),
        (name = "system", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Documents the error answers every operation of a kind can give, in the common error shape,
/// where the handler's own annotation does not already: malformed query or body (400), a missing
/// or invalid login (401), a cookie session without its CSRF header (403), a path id naming nothing
/// (404), body problems (413, 415, 422), the per-address limit of the authentication routes (429),
/// and a database that is busy or unreachable or a server shedding load (503; every route but
/// `/livez`, the document included).
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for (path, item) in &mut openapi.paths.paths {
            for (method, op) in [
                ("get", item.get.as_mut()),
                ("put", item.put.as_mut()),
                ("post", item.post.as_mut()),
                ("delete", item.delete.as_mut()),
                ("patch", item.patch.as_mut()),
            ] {
                let Some(op) = op else { continue };
                let params = op.parameters.as_deref().unwrap_or_default();
                let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
                let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
                let has_body = op.request_body.is_some();
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut wanted: Vec<(&str, &str)> = Vec::new();
                if has_query || has_body {
                    wanted.push(("400", "Malformed query string or request body"));
                }
                if has_query {
                    wanted.push(("422", "The query is well-formed but invalid"));
                }
                if secured {
                    wanted.push(("401", "Missing, expired or invalid login"));
                    if method != "get" {
                        wanted.push((
                            "403",
                            "A cookie session without its CSRF header, or a role that may not do this",
                        ));
                    }
                }
                if has_path {
                    wanted.push(("404", "No such resource for this login"));
                }
                if has_body {
                    wanted.push(("413", "The request body is too large"));
                    wanted.push(("415", "The request body is not JSON"));
                    wanted.push(("422", "The request body is well-formed but invalid"));
                }
                if path.starts_with("/api/v1/auth/") {
                    wanted.push((
                        "429",
                        "Too many requests from this address (`Retry-After` says when to retry)",
                    ));
                }
                if path != "/livez" {
                    wanted.push((
                        "503",
                        "The database is busy or unavailable, or the server is overloaded (`Retry-After`); retry shortly",
                    ));
                }
                for (status, description) in wanted {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
