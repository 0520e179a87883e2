//! `ginkgo bench …`: the benchmarks behind docs/BENCHMARKS.md, rerunnable by anyone.
//! Each prints what it measured together with the machine it ran on.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Subcommand;
use ginkgo_batch::generate::{GenerateOptions, generate};
use ginkgo_server::Config;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Load a generated snapshot (default 1,000,000 accounts × 14 holdings) into the database
    /// named by --database-url, after timing a parse-only pass over the same files.
    Load {
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        /// Where the generated files are kept (reused when present).
        #[arg(long, default_value = "target/bench/provider")]
        dir: PathBuf,
    },
    /// HTTP load against a running server: `holdings`, `summary` or `deposits`, as one login
    /// (`--email`, `--password`) or as many customers (`--customers N`, which makes their logins
    /// in the server's database, given by --database-url, and picks one at random per request).
    Http {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, required_unless_present = "customers")]
        email: Option<String>,
        #[arg(long, required_unless_present = "customers")]
        password: Option<String>,
        /// Log in as this many different customers (logins `bench-N@ginkgo.bench` are created
        /// for the first N customers of the database when missing).
        #[arg(long, conflicts_with_all = ["email", "password"])]
        customers: Option<usize>,
        #[arg(long, default_value = "holdings", value_parser = ["holdings", "summary", "deposits"])]
        scenario: String,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Seconds of measurement (after a 2-second warm-up).
        #[arg(long, default_value_t = 15)]
        duration: u64,
    },
    /// First sync of one sandbox account with N transactions, then a repeated sync.
    Sync {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
    },
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {mem} GiB, {} build",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
pub fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

pub async fn run(cmd: BenchCommand, config: &Config) -> anyhow::Result<()> {
    println!("machine: {}", machine());
    match cmd {
        BenchCommand::Load { accounts, dir } => load(accounts, dir, config).await,
        BenchCommand::Http {
            url,
            email,
            password,
            customers,
            scenario,
            connections,
            duration,
        } => {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(connections)
                .http1_only()
                .build()?;
            let logins = match (customers, email, password) {
                (Some(n), _, _) => bench_logins(&client, &url, config, n).await?,
                (None, Some(e), Some(p)) => vec![log_in(&client, &url, &e, &p).await?],
                _ => bail!("give --email and --password, or --customers"),
            };
            http(
                client,
                &url,
                logins,
                &scenario,
                connections,
                Duration::from_secs(duration),
            )
            .await
        }
        BenchCommand::Sync { rows } => sync(rows).await,
    }
}

async fn load(accounts: u64, dir: PathBuf, config: &Config) -> anyhow::Result<()> {
    let date = NaiveDate::from_ymd_opt(2026, 11, 20).context("date")?;
    if !dir.join("account_asset_info_set.csv").exists() {
        let t = Instant::now();
        let opts = GenerateOptions {
            accounts,
            date,
            seed: 1,
            ..Default::default()
        };
        let d = dir.clone();
        tokio::task::spawn_blocking(move || generate(&d, &opts)).await??;
        println!(
            "generated {accounts} accounts in {:.1} s into {}",
            t.elapsed().as_secs_f64(),
            dir.display()
        );
    }
    let d = dir.clone();
    let t = Instant::now();
    let parsed = tokio::task::spawn_blocking(move || ginkgo_batch::parse_only(&d)).await??;
    let parse_s = t.elapsed().as_secs_f64();
    let parse_rows = parsed.instruments + parsed.holdings + parsed.principals;
    println!(
        "parse only: {parse_rows} rows in {parse_s:.2} s = {:.0} rows/s (peak RSS so far {} MiB)",
        parse_rows as f64 / parse_s,
        peak_rss_mib()
    );
    let store = crate::open_store(config).await?;
    let t = Instant::now();
    let run = ginkgo_server::jobs::load_day(store, &dir, Some(date), None)
        .await
        .map_err(|f| anyhow::anyhow!("load failed: {}", f.error))?;
    let load_s = t.elapsed().as_secs_f64();
    println!(
        "load into {}: {} rows read, {} loaded, {} rejected, {} warnings, {} accounts in {load_s:.2} s = {:.0} rows/s",
        store_kind(&config.database_url),
        run.counts.rows_read,
        run.counts.rows_loaded,
        run.counts.rows_rejected,
        run.counts.warnings,
        run.accounts_loaded,
        run.counts.rows_read as f64 / load_s
    );
    println!("peak RSS of the whole process: {} MiB", peak_rss_mib());
    Ok(())
}

fn store_kind(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

struct Stats {
    latencies_us: Vec<u32>,
    errors: u64,
}

/// One customer's session and the account the load uses.
#[derive(Clone)]
struct BenchLogin {
    token: String,
    holder: String,
    account_id: i64,
    account_number: String,
}

async fn log_in(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<BenchLogin> {
    let login: Value = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()
        .with_context(|| format!("login of {email} failed"))?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .context("no token")?
        .to_string();
    let holder = login["user"]["customer_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let accounts: Value = client
        .get(format!("{url}/api/v1/accounts"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let first = accounts
        .as_array()
        .and_then(|a| a.first())
        .with_context(|| format!("{email} has no accounts"))?;
    Ok(BenchLogin {
        token,
        holder,
        account_id: first["id"].as_i64().context("id")?,
        account_number: first["account_number"]
            .as_str()
            .context("number")?
            .to_string(),
    })
}

/// Logins for the first `n` customers of the server's database (made when missing, with one
/// password hash shared by all), each logged in over HTTP.
async fn bench_logins(
    client: &reqwest::Client,
    url: &str,
    config: &Config,
    n: usize,
) -> anyhow::Result<Vec<BenchLogin>> {
    const PASSWORD: &str = "ginkgo-bench-password";
    let store = crate::open_store(config).await?;
    let hash =
        ginkgo_server::auth::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!(e.message))?;
    let t = Instant::now();
    // Customers in account order; one whose record already has another login is passed over.
    let mut seen = std::collections::HashSet::new();
    let mut emails = Vec::new();
    for a in store.accounts(ginkgo_store::Scope::Operator).await? {
        if emails.len() == n {
            break;
        }
        if !seen.insert(a.customer_id) {
            continue;
        }
        let email = format!("bench-{}@ginkgo.bench", a.customer_id);
        if store.credentials_by_email(&email).await?.is_none() {
            match store
                .create_user(ginkgo_store::NewUser {
                    email: email.clone(),
                    password_hash: hash.clone(),
                    role: ginkgo_store::Role::Customer,
                    customer_id: Some(a.customer_id),
                })
                .await
            {
                Ok(_) => {}
                Err(ginkgo_store::StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        emails.push(email);
    }
    if emails.len() < n {
        bail!(
            "the database holds only {} customers without a login of their own",
            emails.len()
        );
    }
    let mut logins = Vec::new();
    for chunk in emails.chunks(8) {
        let batch = futures_util::future::try_join_all(
            chunk.iter().map(|e| log_in(client, url, e, PASSWORD)),
        )
        .await?;
        logins.extend(batch);
    }
    println!(
        "{n} customers logged in in {:.1} s; each request picks one at random",
        t.elapsed().as_secs_f64()
    );
    Ok(logins)
}

async fn http(
    client: reqwest::Client,
    url: &str,
    logins: Vec<BenchLogin>,
    scenario: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<()> {
    let logins = Arc::new(logins);
    let deadline_warm = Instant::now() + Duration::from_secs(2);
    let deadline = deadline_warm + duration;
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let (client, logins, url, scenario, done) = (
            client.clone(),
            logins.clone(),
            url.to_string(),
            scenario.to_string(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats {
                latencies_us: Vec::with_capacity(100_000),
                errors: 0,
            };
            // A small deterministic generator per worker picks the customer of each request.
            let mut pick = ginkgo_domain::rng::SplitMix64::new(0x9E37_79B9 ^ worker as u64);
            loop {
                let start = Instant::now();
                if start >= deadline {
                    break;
                }
                let who = &logins[pick.below(logins.len() as u64) as usize];
                let (token, id) = (&who.token, who.account_id);
                let ok = match scenario.as_str() {
                    "holdings" => {
                        get_ok(
                            &client,
                            &format!("{url}/api/v1/accounts/{id}/holdings"),
                            token,
                        )
                        .await
                    }
                    "summary" => get_ok(&client, &format!("{url}/api/v1/accounts"), token).await,
                    _ => deposit(&client, &url, token, &who.account_number, &who.holder).await,
                };
                if start >= deadline_warm {
                    if ok {
                        stats
                            .latencies_us
                            .push(start.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.errors += 1;
                    }
                }
            }
            stats
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let s = t.await?;
        all.extend(s.latencies_us);
        errors += s.errors;
    }
    if all.is_empty() {
        bail!("no request succeeded ({errors} errors)");
    }
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    let unit = if scenario == "deposits" {
        "complete deposits (phase 1 + phase 2)"
    } else {
        "requests"
    };
    println!(
        "{scenario} as {} customer(s): {} {unit} in {} s = {:.0}/s with {connections} connections; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {errors} errors",
        logins.len(),
        all.len(),
        duration.as_secs(),
        all.len() as f64 / duration.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

async fn get_ok(client: &reqwest::Client, url: &str, token: &str) -> bool {
    match client.get(url).bearer_auth(token).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

async fn deposit(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    number: &str,
    holder: &str,
) -> bool {
    let amount = 1000;
    let created = client
        .post(format!("{url}/api/v1/deposits"))
        .bearer_auth(token)
        .json(&json!({"account_number": number, "user_name": holder, "transfer_amount": amount}))
        .send()
        .await;
    let Ok(created) = created else { return false };
    let Ok(body) = created.json::<Value>().await else {
        return false;
    };
    let Some(id) = body["transfer_identifier"].as_str() else {
        return false;
    };
    let signature = hex::encode(Sha512::digest(
        format!("{number}{holder}{amount}").as_bytes(),
    ));
    match client
        .post(format!("{url}/api/v1/deposits/{id}/confirm"))
        .bearer_auth(token)
        .json(&json!({"signature": signature}))
        .send()
        .await
    {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

async fn sync(rows: u64) -> anyhow::Result<()> {
    // A sandbox whose first user owns one account with `rows` transactions.
    let config = ginkgo_sandbox::SandboxConfig {
        users: 1,
        large_account_rows: rows,
        ..Default::default()
    };
    let t = Instant::now();
    let sandbox =
        tokio::task::spawn_blocking(move || ginkgo_sandbox::Sandbox::new(config)).await??;
    println!("sandbox generated in {:.1} s", t.elapsed().as_secs_f64());
    let handle = sandbox.handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sandbox_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { sandbox.serve(listener, std::future::pending()).await });

    let dir = std::env::temp_dir().join(format!("ginkgo-bench-sync-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config {
        database_url: format!("sqlite://{}/ginkgo.db", dir.display()),
        ..Config::default()
    };
    let sc = ginkgo_sandbox::SandboxConfig::default();
    config.auth.jwt_secret =
        ginkgo_server::config::Secret::new(ginkgo_server::auth::random_token());
    config.bank.base_url = Some(sandbox_url.clone());
    config.bank.client_id = sc.client_id.clone();
    config.bank.client_secret = ginkgo_server::config::Secret::new(sc.client_secret.clone());
    config.bank.redirect_uri = "http://127.0.0.1:1/api/v1/bank/callback".into();
    config.bank.institution_code = sc.client_use_code.clone();
    config.bank.token_key = ginkgo_server::config::Secret::new(ginkgo_server::auth::random_token());
    config.bank.first_sync_days = 36_500;
    let store = crate::open_store(&config).await?;
    let user = store
        .create_user(ginkgo_store::NewUser {
            email: "bench@ginkgo".into(),
            password_hash: "x".into(),
            role: ginkgo_store::Role::Customer,
            customer_id: None,
        })
        .await?;
    // Link without a browser: register the big account and take a token from the sandbox.
    let test_user = handle
        .users()
        .iter()
        .max_by_key(|u| u.accounts.iter().map(|a| a.rows.len()).max().unwrap_or(0))
        .context("no sandbox user")?
        .clone();
    let big = test_user.accounts.first().context("no account")?;
    println!("account with {} transactions", big.rows.len());
    let state = ginkgo_server::AppState::try_new(store.clone(), config.clone())
        .map_err(|e| anyhow::anyhow!(e))?;
    crate::sandbox_link::link_directly(
        &state,
        &handle,
        user.id,
        &test_user.user_seq_no,
        &[big.fintech_use_num.as_str()],
    )
    .await?;
    let t = Instant::now();
    let first = ginkgo_server::bank::sync_user(&state, user.id)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let first_s = t.elapsed().as_secs_f64();
    println!(
        "first sync: {} transactions stored in {first_s:.2} s = {:.0} rows/s ({} requests to the sandbox so far)",
        first.added,
        first.added as f64 / first_s,
        handle.requests_received()
    );
    let before = handle.requests_received();
    let t = Instant::now();
    let again = ginkgo_server::bank::sync_user(&state, user.id)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    println!(
        "repeated sync: {} new in {:.3} s, {} requests (balance + overlapping pages only)",
        again.added,
        t.elapsed().as_secs_f64(),
        handle.requests_received() - before
    );
    println!("peak RSS: {} MiB", peak_rss_mib());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
