//! Benchmark of the generator and of paging a very large account over HTTP.
//!
//! `cargo run --release -p ginkgo-sandbox --example generator_bench -- [rows] [pages]`
//! (defaults: 1,000,000 rows, 2,000 pages). Prints timings; asserts nothing about them.

use std::sync::Arc;
use std::time::Instant;

use ginkgo_openbanking::{
    ClientConfig, HttpClient, InMemoryTranIdSource, InquiryType, OpenBankingApi, SortOrder,
    TransactionQuery,
};
use ginkgo_sandbox::generator::{AccountSpec, generate_rows};
use ginkgo_sandbox::{Sandbox, SandboxConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let pages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let today = ginkgo_domain::time::today_kst();

    let t = Instant::now();
    let generated = generate_rows(&AccountSpec::with_rows(1, rows, today, 400));
    println!(
        "generate_rows: {} rows in {:.2?}",
        generated.len(),
        t.elapsed()
    );
    drop(generated);

    let t = Instant::now();
    let config = SandboxConfig {
        users: 0,
        large_account_rows: rows,
        end_date: Some(today),
        ..SandboxConfig::default()
    };
    let sandbox = tokio::task::spawn_blocking(move || Sandbox::new(config)).await??;
    println!(
        "Sandbox::new with one {rows}-row account: {:.2?}",
        t.elapsed()
    );

    let handle = sandbox.handle();
    let user = handle.users()[0].user_seq_no.clone();
    let account = handle.users()[0].accounts[0].clone();
    handle.register_accounts(&user, &[&account.fintech_use_num])?;
    let token = handle.issue_user_token(&user, &["inquiry", "login"])?;
    let access = token.access_token.unwrap_or_default();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sandbox.serve(listener, async {
        let _ = rx.await;
    }));

    let cfg = ClientConfig::new(
        &base,
        "ginkgo-sandbox-client",
        "ginkgo-sandbox-secret",
        "http://localhost/cb",
        "M202600001",
    );
    let client = HttpClient::new(cfg, Arc::new(InMemoryTranIdSource::new("M202600001")?))?;
    let first = account.rows.first().map(|r| r.date).unwrap_or(today);
    for (label, sort) in [
        ("newest first", SortOrder::Descending),
        ("oldest first", SortOrder::Ascending),
    ] {
        let query = TransactionQuery {
            fintech_use_num: account.fintech_use_num.clone(),
            inquiry_type: InquiryType::All,
            from_date: first,
            to_date: today,
            sort_order: sort,
        };
        let t = Instant::now();
        let mut trace: Option<String> = None;
        let mut read = 0usize;
        for _ in 0..pages {
            let page = client
                .transaction_page(&access, &query, trace.as_deref())
                .await?;
            read += page.rows.len();
            match page.next_trace {
                Some(next) => trace = Some(next),
                None => break,
            }
        }
        let elapsed = t.elapsed();
        println!(
            "{label}: {read} rows in {pages} pages over HTTP in {elapsed:.2?} ({:.0} pages/s)",
            pages as f64 / elapsed.as_secs_f64()
        );
    }
    let _ = tx.send(());
    server.await??;
    Ok(())
}
