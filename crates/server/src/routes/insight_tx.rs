//! The transactions behind the insight figures: search across every linked account (memo text,
//! amount range, category, direction), each with how it counts (own transfer and its
//! counterpart, cancellation and its purchase), CSV/XLSX export of the filtered list, and
//! undoing an own-transfer pairing.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDate};
use ginkgo_domain::Won;
use ginkgo_domain::time::today_kst;
use ginkgo_insight::category::Category;
use ginkgo_insight::matching::{Adjustments, TransferKind, Treatment};
use ginkgo_insight::normalize::normalize;
use ginkgo_insight::txn::{Direction, Txn};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::insight::{self as ctx, UNPAIR};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    let pairing = post(unpair).delete(repair);
    Router::new()
        .route("/api/v1/insight/transactions", get(search))
        .route("/api/v1/insight/transactions/export", get(export))
        .route("/api/v1/insight/transactions/{id}/unpair", pairing)
}

/// At most this many rows in one export.
const EXPORT_MAX: usize = 50_000;

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Default: 90 days before `to`.
    pub from: Option<NaiveDate>,
    /// Default: today (Asia/Seoul).
    pub to: Option<NaiveDate>,
    /// Text the memo contains (compared after normalising: NFKC, case, spaces). At most 100
    /// characters.
    pub q: Option<String>,
    /// Smallest amount (won, inclusive).
    #[param(minimum = 0)]
    pub min_amount: Option<i64>,
    /// Largest amount (won, inclusive).
    #[param(minimum = 0)]
    pub max_amount: Option<i64>,
    /// A category code (see `/api/v1/insight/categories`).
    pub category: Option<String>,
    /// `in` or `out`.
    pub direction: Option<String>,
    /// 1-based.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// At most 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
    /// Export only: `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// Export only: column headings in `ko` (default) or `en`.
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct Counterpart {
    #[schema(example = 2048)]
    pub id: i64,
    #[schema(example = 7)]
    pub account_id: i64,
    #[schema(example = "2026-11-11")]
    pub date: NaiveDate,
    #[schema(example = "토스 이체")]
    pub memo: String,
    #[schema(example = 250_000)]
    pub amount: i64,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct TreatmentView {
    /// `normal`, `own_transfer` (neither spending nor income), `cancelled` (a purchase reduced
    /// by its cancellations), `cancellation` (netted against `purchase`) or
    /// `unmatched_cancellation` (no purchase found; not income).
    #[schema(example = "own_transfer")]
    pub kind: &'static str,
    /// For own transfers: `linked_accounts`, `ginkgo_deposit` or `own_name`.
    #[schema(example = "linked_accounts")]
    pub transfer: Option<&'static str>,
    /// The other side of an own transfer between linked accounts ("paired with …").
    pub counterpart: Option<Counterpart>,
    /// The purchase a cancellation reduces.
    pub purchase: Option<Counterpart>,
    /// For a reduced purchase: how much was cancelled.
    #[schema(example = json!(null))]
    pub refunded: Option<i64>,
    /// What the transaction adds to spending (out) or income (in) in every figure.
    #[schema(example = 0)]
    pub counted: i64,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct SearchItem {
    #[schema(example = 1024)]
    pub id: i64,
    #[schema(example = 7)]
    pub account_id: i64,
    #[schema(example = "2026-11-10")]
    pub date: NaiveDate,
    /// `HH:MM:SS`, when known.
    #[schema(example = "23:50:00")]
    pub time: Option<String>,
    #[schema(example = "out")]
    pub direction: &'static str,
    #[schema(example = 250_000)]
    pub amount: i64,
    #[schema(example = "토스 이체")]
    pub memo: String,
    /// The category in the figures (an own transfer is always `transfer`).
    #[schema(example = "transfer")]
    pub category: &'static str,
    pub treatment: TreatmentView,
}

#[derive(Serialize, ToSchema)]
pub struct SearchPage {
    pub items: Vec<SearchItem>,
    /// Matching transactions (all pages).
    #[schema(example = 42)]
    pub total: u64,
    #[schema(example = 1)]
    pub page: u32,
    #[schema(example = 50)]
    pub per_page: u32,
    /// Sum of `treatment.counted` over the outgoing matches (all pages): what the spending
    /// figures show for them.
    #[schema(example = 812_400)]
    pub spending: i64,
    /// Sum of `treatment.counted` over the incoming matches (all pages).
    #[schema(example = 3_200_000)]
    pub income: i64,
}

struct Filter {
    from: NaiveDate,
    to: NaiveDate,
    q: Option<String>,
    min: Option<Won>,
    max: Option<Won>,
    category: Option<Category>,
    direction: Option<Direction>,
}

fn filter_of(q: &SearchQuery) -> ApiResult<Filter> {
    let to = q.to.unwrap_or_else(today_kst);
    let from = q.from.unwrap_or(to - Duration::days(90));
    if from > to {
        return Err(ApiError::validation("from must not be after to"));
    }
    if (to - from).num_days() > 366 * 5 {
        return Err(ApiError::validation(
            "the range may span at most five years",
        ));
    }
    let text = match &q.q {
        Some(t) if t.chars().count() > 100 => {
            return Err(ApiError::validation("q must be at most 100 characters"));
        }
        Some(t) => Some(normalize(t)).filter(|n| !n.is_empty()),
        None => None,
    };
    for (name, v) in [("min_amount", q.min_amount), ("max_amount", q.max_amount)] {
        if v.is_some_and(|v| v < 0) {
            return Err(ApiError::validation(format!("{name} must not be negative")));
        }
    }
    if let (Some(a), Some(b)) = (q.min_amount, q.max_amount)
        && a > b
    {
        return Err(ApiError::validation(
            "min_amount must not be larger than max_amount",
        ));
    }
    let category = match &q.category {
        Some(c) => Some(
            Category::from_code(c)
                .ok_or_else(|| ApiError::validation(format!("unknown category '{c}'")))?,
        ),
        None => None,
    };
    let direction = match &q.direction {
        Some(d) => Some(
            Direction::from_code(d)
                .ok_or_else(|| ApiError::validation("direction must be 'in' or 'out'"))?,
        ),
        None => None,
    };
    Ok(Filter {
        from,
        to,
        q: text,
        min: q.min_amount.map(Won::new),
        max: q.max_amount.map(Won::new),
        category,
        direction,
    })
}

/// The category a transaction is filed under in the figures: an own transfer is a transfer,
/// whatever its memo made of it.
fn filed_as(t: &Txn, adj: &Adjustments) -> Category {
    if adj.transfers.contains_key(&t.id) {
        Category::Transfer
    } else {
        t.category_or_default()
    }
}

fn matches(f: &Filter, t: &Txn, adj: &Adjustments) -> bool {
    t.date >= f.from
        && t.date <= f.to
        && f.min.is_none_or(|m| t.amount >= m)
        && f.max.is_none_or(|m| t.amount <= m)
        && f.category.is_none_or(|c| filed_as(t, adj) == c)
        && f.direction.is_none_or(|d| t.direction == d)
        && f.q
            .as_ref()
            .is_none_or(|q| normalize(&t.memo).contains(q.as_str()))
}

fn counterpart(t: &Txn) -> Counterpart {
    Counterpart {
        id: t.id,
        account_id: t.account_id,
        date: t.date,
        memo: t.memo.clone(),
        amount: t.amount.get(),
    }
}

fn treatment_view(t: &Txn, adj: &Adjustments, by_id: &HashMap<i64, &Txn>) -> TreatmentView {
    let counted = adj
        .spending(t)
        .or_else(|| adj.income(t))
        .map_or(0, |w| w.get());
    let mut v = TreatmentView {
        kind: "normal",
        transfer: None,
        counterpart: None,
        purchase: None,
        refunded: None,
        counted,
    };
    match adj.treatment(t) {
        Treatment::Normal => {}
        Treatment::Cancelled { refunded, .. } => {
            v.kind = "cancelled";
            v.refunded = Some(refunded.get());
        }
        Treatment::OwnTransfer(o) => {
            v.kind = "own_transfer";
            v.transfer = Some(o.kind.code());
            if o.kind == TransferKind::LinkedAccounts {
                v.counterpart = o
                    .counterpart
                    .and_then(|id| by_id.get(&id))
                    .map(|c| counterpart(c));
            }
        }
        Treatment::Cancellation { purchase_id } => {
            v.kind = "cancellation";
            v.purchase = by_id.get(&purchase_id).map(|c| counterpart(c));
        }
        Treatment::UnmatchedCancellation => v.kind = "unmatched_cancellation",
    }
    v
}

struct Found {
    items: Vec<SearchItem>,
    spending: i64,
    income: i64,
}

async fn find(state: &AppState, user: &AuthUser, q: &SearchQuery) -> ApiResult<Found> {
    let f = filter_of(q)?;
    let l = ctx::load(state, user, Some(f.from), Some(f.to)).await?;
    let by_id: HashMap<i64, &Txn> = l.txns.iter().map(|t| (t.id, t)).collect();
    let mut hits: Vec<&Txn> = l.txns.iter().filter(|t| matches(&f, t, &l.adj)).collect();
    hits.sort_by_key(|t| std::cmp::Reverse((t.date, t.time, t.id)));
    let (mut spending, mut income) = (0i64, 0i64);
    let items: Vec<SearchItem> = hits
        .into_iter()
        .map(|t| {
            let treatment = treatment_view(t, &l.adj, &by_id);
            match t.direction {
                Direction::Out => spending = spending.saturating_add(treatment.counted),
                Direction::In => income = income.saturating_add(treatment.counted),
            }
            SearchItem {
                id: t.id,
                account_id: t.account_id,
                date: t.date,
                time: t.time.map(|x| x.format("%H:%M:%S").to_string()),
                direction: t.direction.code(),
                amount: t.amount.get(),
                memo: t.memo.clone(),
                category: filed_as(t, &l.adj).code(),
                treatment,
            }
        })
        .collect();
    Ok(Found {
        items,
        spending,
        income,
    })
}

/// Search the customer's transactions on every linked account, newest first, each with how it
/// counts in the figures; `spending`/`income` sum the matches the way every chart does.
#[utoipa::path(get, path = "/api/v1/insight/transactions", tag = "insight", security(("bearer" = [])),
    params(SearchQuery),
    responses((status = 200, body = SearchPage), (status = 422, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchPage>> {
    if q.format.is_some() || q.lang.is_some() {
        return Err(ApiError::validation(
            "format and lang are for /api/v1/insight/transactions/export",
        ));
    }
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(50);
    if page == 0 || !(1..=500).contains(&per_page) {
        return Err(ApiError::validation(
            "page starts at 1 and per_page is 1 to 500",
        ));
    }
    let found = find(&state, &user, &q).await?;
    let total = found.items.len() as u64;
    let skip = usize::try_from(u64::from(page - 1) * u64::from(per_page)).unwrap_or(usize::MAX);
    let items = found
        .items
        .into_iter()
        .skip(skip)
        .take(per_page as usize)
        .collect();
    Ok(Json(SearchPage {
        items,
        total,
        page,
        per_page,
        spending: found.spending,
        income: found.income,
    }))
}

struct Labels {
    headings: [&'static str; 9],
    dir_in: &'static str,
    dir_out: &'static str,
    kinds: [(&'static str, &'static str); 5],
}

const KO: Labels = Labels {
    headings: [
        "날짜",
        "시간",
        "계좌",
        "구분",
        "금액",
        "메모",
        "분류",
        "처리",
        "반영 금액",
    ],
    dir_in: "입금",
    dir_out: "출금",
    kinds: [
        ("normal", ""),
        ("own_transfer", "내 계좌 간 이체"),
        ("cancelled", "취소 반영"),
        ("cancellation", "결제 취소"),
        ("unmatched_cancellation", "짝 없는 취소"),
    ],
};

const EN: Labels = Labels {
    headings: [
        "Date",
        "Time",
        "Account",
        "Direction",
        "Amount",
        "Memo",
        "Category",
        "Treatment",
        "Counted",
    ],
    dir_in: "In",
    dir_out: "Out",
    kinds: [
        ("normal", ""),
        ("own_transfer", "Own transfer"),
        ("cancelled", "Reduced by cancellation"),
        ("cancellation", "Cancellation"),
        ("unmatched_cancellation", "Unmatched cancellation"),
    ],
};

fn row_cells(it: &SearchItem, labels: &Labels, ko: bool) -> [String; 9] {
    let category = Category::from_code(it.category).map_or(it.category, |c| {
        if ko { c.label_ko() } else { c.label_en() }
    });
    let kind = labels
        .kinds
        .iter()
        .find(|(k, _)| *k == it.treatment.kind)
        .map_or(it.treatment.kind, |(_, l)| *l);
    [
        it.date.to_string(),
        it.time.clone().unwrap_or_default(),
        it.account_id.to_string(),
        if it.direction == "in" {
            labels.dir_in
        } else {
            labels.dir_out
        }
        .to_string(),
        it.amount.to_string(),
        it.memo.clone(),
        category.to_string(),
        kind.to_string(),
        it.treatment.counted.to_string(),
    ]
}

/// A cell a spreadsheet would read as a formula is prefixed with `'` (CSV injection).
fn csv_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn csv_field(cell: &str) -> String {
    let cell = csv_safe(cell);
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

fn to_csv(items: &[SearchItem], labels: &Labels, ko: bool) -> Vec<u8> {
    // UTF-8 with a byte-order mark: Korean Excel opens it as UTF-8.
    let mut out = String::from("\u{FEFF}");
    out.push_str(&labels.headings.join(","));
    out.push_str("\r\n");
    for it in items {
        let cells = row_cells(it, labels, ko);
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn to_xlsx(items: &[SearchItem], labels: &Labels, ko: bool) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| {
        tracing::error!(error = %e, "xlsx export");
        ApiError::internal()
    };
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    for (c, h) in labels.headings.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(fail)?;
    }
    for (r, it) in items.iter().enumerate() {
        let row = u32::try_from(r + 1).map_err(|_| ApiError::internal())?;
        let cells = row_cells(it, labels, ko);
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            match c {
                2 => sheet
                    .write_number(row, col, it.account_id as f64)
                    .map_err(fail)?,
                // Won amounts are integers far below 2^53: exact as spreadsheet numbers.
                4 => sheet
                    .write_number_with_format(row, col, it.amount as f64, &money)
                    .map_err(fail)?,
                8 => sheet
                    .write_number_with_format(row, col, it.treatment.counted as f64, &money)
                    .map_err(fail)?,
                _ => sheet.write_string(row, col, cell).map_err(fail)?,
            };
        }
    }
    wb.save_to_buffer().map_err(fail)
}

/// The filtered list (same filters as the search, every page, at most 50,000 rows) as CSV
/// (UTF-8 with BOM, for Korean Excel) or XLSX.
#[utoipa::path(get, path = "/api/v1/insight/transactions/export", tag = "insight", security(("bearer" = [])),
    params(SearchQuery),
    responses((status = 200, description = "text/csv or an XLSX workbook", content_type = "text/csv"),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Response> {
    if q.page.is_some() || q.per_page.is_some() {
        return Err(ApiError::validation("an export has no pages"));
    }
    let xlsx = match q.format.as_deref().unwrap_or("csv") {
        "csv" => false,
        "xlsx" => true,
        _ => return Err(ApiError::validation("format must be 'csv' or 'xlsx'")),
    };
    let ko = match q.lang.as_deref().unwrap_or("ko") {
        "ko" => true,
        "en" => false,
        _ => return Err(ApiError::validation("lang must be 'ko' or 'en'")),
    };
    let found = find(&state, &user, &q).await?;
    if found.items.len() > EXPORT_MAX {
        return Err(ApiError::validation(format!(
            "at most {EXPORT_MAX} rows per export; narrow the filters"
        )));
    }
    let labels = if ko { &KO } else { &EN };
    let (body, mime, ext) = if xlsx {
        (
            to_xlsx(&found.items, labels, ko)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    } else {
        (
            to_csv(&found.items, labels, ko),
            "text/csv; charset=utf-8",
            "csv",
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ginkgo-transactions.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct UnpairView {
    /// The transactions no longer treated as an own transfer.
    #[schema(example = json!([1024, 2048]))]
    pub ids: Vec<i64>,
}

/// Undo an own-transfer pairing (or a self-named / deposit-funding own transfer): the
/// transaction (and its counterpart) count as spending and income again, for good — later
/// syncs do not pair them again. `DELETE` lets Ginkgo decide again.
#[utoipa::path(post, path = "/api/v1/insight/transactions/{id}/unpair", tag = "insight", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Transaction id")),
    responses((status = 200, body = UnpairView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn unpair(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<UnpairView>> {
    let txn = own_txn(&state, &user, id).await?;
    let l = ctx::load(&state, &user, Some(txn.date), Some(txn.date)).await?;
    let Some(o) = l.adj.transfers.get(&id) else {
        return Err(ApiError::conflict(
            "not_own_transfer",
            "this transaction is not treated as an own transfer",
        ));
    };
    let mut ids = vec![id];
    ids.extend(o.counterpart);
    let other = o.counterpart.map(|c| c.to_string()).unwrap_or_default();
    let store = state.store();
    store
        .put_insight_override(user.user_id, UNPAIR, &id.to_string(), &other)
        .await?;
    if let Some(c) = o.counterpart {
        store
            .put_insight_override(user.user_id, UNPAIR, &c.to_string(), &id.to_string())
            .await?;
    }
    Ok(Json(UnpairView { ids }))
}

/// Let Ginkgo pair the transaction (and the counterpart it was un-paired from) again.
#[utoipa::path(delete, path = "/api/v1/insight/transactions/{id}/unpair", tag = "insight", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Transaction id")),
    responses((status = 204, description = "Pairing allowed again"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn repair(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    own_txn(&state, &user, id).await?;
    let store = state.store();
    let overrides = store.insight_overrides(user.user_id).await?;
    let key = id.to_string();
    let Some(o) = overrides
        .iter()
        .find(|o| o.kind == UNPAIR && o.subject == key)
    else {
        return Err(ApiError::not_found("this transaction was not un-paired"));
    };
    store
        .delete_insight_override(user.user_id, UNPAIR, &key)
        .await?;
    if !o.data.is_empty() {
        store
            .delete_insight_override(user.user_id, UNPAIR, &o.data)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn own_txn(state: &AppState, user: &AuthUser, id: i64) -> ApiResult<ginkgo_store::BankTxn> {
    state
        .store()
        .bank_transaction(user.user_id, id)
        .await
        .map_err(|e| match e {
            ginkgo_store::StoreError::NotFound => ApiError::not_found("no such transaction"),
            other => other.into(),
        })
}
