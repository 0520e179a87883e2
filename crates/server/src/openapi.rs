//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{auth, bank, batch, deposits, insight, investments, system};

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
        system::healthz, system::openapi,
        auth::signup, auth::login, auth::refresh, auth::logout, auth::claim, auth::me,
        investments::list_accounts, investments::account_detail, investments::account_holdings,
        investments::account_allocation, investments::account_history, investments::total_allocation,
        investments::total_history, investments::legacy_investments, investments::legacy_holdings,
        deposits::create, deposits::confirm, deposits::list, deposits::legacy_create, deposits::legacy_confirm,
        batch::runs, batch::run, batch::findings, batch::rejects_csv,
        bank::link, bank::callback, bank::unlink, bank::sync, bank::syncs, bank::accounts, bank::transactions, bank::refile,
        insight::categories, insight::spending, insight::weekly, insight::monthly, insight::recurring,
        insight::upcoming_payments, insight::list_rules, insight::create_rule, insight::update_rule,
        insight::delete_rule, insight::reorder_rules, insight::preview_rule,
    ),
    modifiers(&BearerAuth),
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
