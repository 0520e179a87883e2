//! `ginkgo soak`: mixed load against a real `ginkgo serve` process on loopback for a bounded
//! time, then the invariants.
//!
//! The run prepares everything itself: two days of generated provider files (yesterday and
//! today), a database holding yesterday, customer logins, and an in-process Open Banking sandbox
//! with every login's bank already linked. It then starts the server as a child process and
//! drives it with concurrent virtual customers who log in, read every screen, deposit (often
//! confirming the same identifier two or three times at once, through both the versioned and the
//! original routes), sync their banks and re-read their transactions. Half-way through, today's
//! provider files are loaded by a separate `ginkgo batch load` process; for a tenth of the run
//! the sandbox answers slowly and fails one request in five.
//!
//! Afterwards it checks, against the database itself:
//! - no 5xx answer, except `bank_unavailable` while the sandbox was failing on purpose;
//! - every deposit identifier was confirmed exactly once, and for every account the sum of its
//!   confirmed deposits equals the growth of its total assets and of its principal over today's
//!   provider figures (a deposit applied twice, lost, or dropped by the mid-run load shows here);
//! - after a final sync, every bank transaction of the sandbox is stored exactly once;
//! - the server's resident memory at the end is within 25% (+16 MiB) of its level after warm-up
//!   (judged on runs of two minutes or more).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate};
use clap::Args;
use ginkgo_batch::generate::{GenerateOptions, generate_days};
use ginkgo_domain::rng::SplitMix64;
use ginkgo_domain::time::today_kst;
use ginkgo_server::Config;
use ginkgo_server::auth::{hash_password, random_token};
use ginkgo_server::config::Secret;
use ginkgo_store::{DepositStatus, NewUser, Role, Scope, Store, UserId};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::bench::machine;

#[derive(Args)]
pub struct SoakArgs {
    /// Seconds of mixed load.
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Concurrent virtual customers.
    #[arg(long, default_value_t = 24)]
    workers: usize,
    /// Customer logins (each with a linked sandbox bank) shared by the workers.
    #[arg(long, default_value_t = 12)]
    logins: usize,
    /// Provider accounts in each generated day.
    #[arg(long, default_value_t = 20_000)]
    accounts: u64,
    /// Working folder: provider files, the SQLite database (unless --database-url names one),
    /// the server's log and the report. Emptied on start.
    #[arg(long, default_value = "target/soak")]
    dir: PathBuf,
    /// Seed of the workers' choices.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

const PASSWORD: &str = "soak-password-2026";

pub async fn run(args: SoakArgs, database_url: Option<String>) -> anyhow::Result<ExitCode> {
    if args.workers == 0 || args.logins == 0 || args.accounts == 0 || args.duration == 0 {
        bail!("--workers, --logins, --accounts and --duration must be positive");
    }
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("cannot empty {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir)?;
    let dir = std::fs::canonicalize(&args.dir)?;
    let database_url =
        database_url.unwrap_or_else(|| format!("sqlite://{}/ginkgo.db", dir.display()));
    let backend = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("machine: {}", machine());
    println!(
        "soak: {} s, {} workers, {} logins, {} provider accounts, {backend}",
        args.duration, args.workers, args.logins, args.accounts
    );

    // Two provider days: yesterday is current when the load starts, today arrives mid-run.
    let today = today_kst();
    let yesterday = today.checked_sub_days(Days::new(1)).context("date")?;
    let inbox = dir.join("inbox");
    let opts = GenerateOptions {
        accounts: args.accounts,
        date: yesterday,
        seed: 11,
        ..Default::default()
    };
    let gen_inbox = inbox.clone();
    tokio::task::spawn_blocking(move || generate_days(&gen_inbox, &opts, 2)).await??;
    let day1 = ginkgo_batch::inbox_dir(&inbox, yesterday);
    let day2 = ginkgo_batch::inbox_dir(&inbox, today);

    // Today's figures without any deposit, from a scratch database.
    let baseline = {
        let scratch =
            ginkgo_server::open_store(&format!("sqlite://{}/baseline.db", dir.display())).await?;
        ginkgo_server::jobs::load_day(scratch.clone(), &day2, Some(today), None)
            .await
            .map_err(|f| anyhow::anyhow!("baseline load failed: {}", f.error))?;
        let accounts = scratch.accounts(Scope::Operator).await?;
        accounts
            .into_iter()
            .map(|a| {
                (
                    a.account_number,
                    (a.total_assets.get(), a.principal.map_or(0, |p| p.get())),
                )
            })
            .collect::<HashMap<_, _>>()
    };

    // The bank.
    let sandbox_config = ginkgo_sandbox::SandboxConfig {
        users: args.logins,
        ..Default::default()
    };
    let sandbox =
        tokio::task::spawn_blocking(move || ginkgo_sandbox::Sandbox::new(sandbox_config)).await??;
    let handle = sandbox.handle();
    let sandbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sandbox_url = format!("http://{}", sandbox_listener.local_addr()?);
    tokio::spawn(async move {
        let _ = sandbox
            .serve(sandbox_listener, std::future::pending())
            .await;
    });

    // The database with yesterday, the logins and their bank links.
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut config = Config {
        database_url: database_url.clone(),
        ..Config::default()
    };
    let sc = handle.config().clone();
    config.auth.jwt_secret = Secret::new(random_token());
    config.bank.base_url = Some(sandbox_url.clone());
    config.bank.client_id = sc.client_id.clone();
    config.bank.client_secret = Secret::new(sc.client_secret.clone());
    config.bank.redirect_uri = format!("{base}/api/v1/bank/callback");
    config.bank.institution_code = sc.client_use_code.clone();
    config.bank.token_key = Secret::new(random_token());
    let store = crate::open_store(&config).await?;
    if !store.runs(1).await?.is_empty() {
        bail!(
            "the soak needs an empty database; {} already holds batch runs",
            ginkgo_server::config::redact_url(&database_url)
        );
    }
    ginkgo_server::jobs::load_day(store.clone(), &day1, Some(yesterday), None)
        .await
        .map_err(|f| anyhow::anyhow!("loading yesterday failed: {}", f.error))?;
    let state = ginkgo_server::AppState::try_new(store.clone(), config.clone())
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    let mut customers: Vec<i64> = store
        .accounts(Scope::Operator)
        .await?
        .iter()
        .map(|a| a.customer_id)
        .collect();
    customers.sort_unstable();
    customers.dedup();
    if customers.len() < args.logins {
        bail!(
            "{} customers in the provider files, fewer than --logins {}",
            customers.len(),
            args.logins
        );
    }
    let hash = hash_password(PASSWORD).map_err(|e| anyhow::anyhow!(e.message))?;
    let mut logins = Vec::new();
    for (i, customer_id) in customers.iter().take(args.logins).enumerate() {
        let email = format!("soak{i}@ginkgo.test");
        let user = store
            .create_user(NewUser {
                email: email.clone(),
                password_hash: hash.clone(),
                role: Role::Customer,
                customer_id: Some(*customer_id),
            })
            .await?;
        let test_user = handle.users().get(i).context("sandbox user")?.clone();
        let fins: Vec<&str> = test_user
            .accounts
            .iter()
            .map(|a| a.fintech_use_num.as_str())
            .collect();
        crate::sandbox_link::link_directly(&state, &handle, user.id, &test_user.user_seq_no, &fins)
            .await?;
        logins.push(Login {
            email,
            user_id: user.id,
            user_seq_no: test_user.user_seq_no.clone(),
        });
    }
    drop(state);

    // The server, as its own process.
    let mut server = ServerProcess::start(&config, &dir, port)?;
    server.wait_ready(&base).await?;
    println!(
        "server pid {} on {base}; sandbox on {sandbox_url}",
        server.pid()
    );

    let started = Instant::now();
    let duration = Duration::from_secs(args.duration);
    let deadline = started + duration;
    let faults_on = Arc::new(AtomicBool::new(false));
    let http = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(args.workers)
        .timeout(Duration::from_secs(60))
        .build()?;

    // Memory sampler.
    let pid = server.pid();
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        while Instant::now() < deadline {
            if let Some(kib) = rss_kib(pid) {
                samples.push((started.elapsed().as_secs_f64(), kib));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        samples
    });

    // The mid-run batch load and the sandbox fault window.
    let exe = std::env::current_exe()?;
    let load_db = database_url.clone();
    let load_dir = day2.clone();
    let load = tokio::spawn(async move {
        tokio::time::sleep(duration / 2).await;
        let t = Instant::now();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(exe)
                .args(["--database-url", &load_db, "batch", "load", "--date"])
                .arg(today.to_string())
                .arg(&load_dir)
                .env("GINKGO_LOG", "warn")
                .output()
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        (t.elapsed(), out)
    });
    let fault_handle = handle.clone();
    let fault_flag = faults_on.clone();
    let faults = tokio::spawn(async move {
        tokio::time::sleep(duration.mul_f64(0.6)).await;
        fault_handle.set_faults(ginkgo_sandbox::Faults {
            delay_ms: 150,
            http_error_per_mille: 200,
            ..Default::default()
        });
        fault_flag.store(true, Ordering::SeqCst);
        tokio::time::sleep(duration.mul_f64(0.1)).await;
        fault_handle.set_faults(ginkgo_sandbox::Faults::default());
        // Syncs that started inside the window may still be finishing.
        tokio::time::sleep(Duration::from_secs(5)).await;
        fault_flag.store(false, Ordering::SeqCst);
    });

    let mut tasks = Vec::new();
    for w in 0..args.workers {
        let login = logins[w % logins.len()].clone();
        let worker = Worker {
            http: http.clone(),
            base: base.clone(),
            rng: SplitMix64::new(args.seed.wrapping_mul(1_000_003).wrapping_add(w as u64)),
            stats: Stats::default(),
            faults_on: faults_on.clone(),
        };
        tasks.push(tokio::spawn(worker.run(login, deadline)));
    }
    let mut stats = Stats::default();
    for t in tasks {
        stats.merge(t.await?);
    }
    let _ = faults.await;
    let (load_time, load_out) = load.await?;
    let load_out = load_out.context("running ginkgo batch load")?;
    let load_ok = load_out.status.success();
    let load_line = format!(
        "mid-run load of {today} ({} accounts) by a separate process: {} in {:.1} s",
        args.accounts,
        if load_ok { "committed" } else { "FAILED" },
        load_time.as_secs_f64()
    );
    if !load_ok {
        stats.violations.push(format!(
            "the mid-run load failed: {}",
            String::from_utf8_lossy(&load_out.stderr)
        ));
    }
    let samples = sampler.await?;

    // A last sync per login with the sandbox healthy, then the server stops.
    let mut finisher = Worker {
        http: http.clone(),
        base: base.clone(),
        rng: SplitMix64::new(1),
        stats: Stats::default(),
        faults_on: faults_on.clone(),
    };
    for login in &logins {
        let token = finisher.login(&login.email).await?;
        let (mut status, mut body) = finisher
            .send("final_sync", finisher.post("/api/v1/bank/sync", &token))
            .await?;
        // A sync that outlives its request answers 202: follow its record to the end.
        if status == 202
            && let Some(id) = body["sync_id"].as_i64()
        {
            let deadline = Instant::now() + Duration::from_secs(300);
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let (s, record) = finisher
                    .send(
                        "final_sync_poll",
                        finisher.get(&format!("/api/v1/bank/syncs/{id}"), &token),
                    )
                    .await?;
                if s != 200 || record["status"] != "running" || Instant::now() > deadline {
                    (status, body) = (s, record);
                    break;
                }
            }
        }
        if status != 200 || body["status"] != "ok" {
            finisher.stats.violations.push(format!(
                "final sync of {} answered {status} {body}",
                login.email
            ));
        }
    }
    stats.merge(finisher.stats);
    let server_status = server.stop()?;
    let elapsed = started.elapsed();

    // Invariants, read from the database.
    let mut violations = std::mem::take(&mut stats.violations);
    if !server_status {
        violations.push("the server did not stop cleanly on SIGTERM".into());
    }
    let deposits = check_deposits(store.as_ref(), &baseline, &stats, &mut violations).await?;
    let bank = check_bank(store.as_ref(), &handle, &logins, today, &mut violations).await?;
    let memory = check_memory(&samples, &mut violations);

    // The report.
    let mut report = String::new();
    let total: u64 = stats.ops.values().map(|o| o.count).sum();
    report.push_str(&format!(
        "# Soak report\n\nmachine: {}\nbackend: {backend}\ncommand: ginkgo soak --duration {} --workers {} --logins {} --accounts {}\n\n",
        machine(),
        args.duration,
        args.workers,
        args.logins,
        args.accounts
    ));
    report.push_str(&format!(
        "{total} requests in {:.0} s = {:.0}/s; {} answered 5xx; {} bank_unavailable during the injected sandbox faults\n",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        stats.server_errors,
        stats.upstream_errors
    ));
    report.push_str(&format!("{load_line}\n{deposits}\n{bank}\n{memory}\n\n"));
    report.push_str("| operation | requests | p50 ms | p99 ms | max ms | statuses |\n|---|---:|---:|---:|---:|---|\n");
    for (name, op) in &mut stats.ops {
        op.latencies_us.sort_unstable();
        let pct = |p: f64| {
            let l = &op.latencies_us;
            if l.is_empty() {
                0.0
            } else {
                f64::from(l[((l.len() as f64 * p) as usize).min(l.len() - 1)]) / 1000.0
            }
        };
        let statuses: Vec<String> = op
            .by_status
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        report.push_str(&format!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} | {} |\n",
            op.count,
            pct(0.5),
            pct(0.99),
            pct(1.0),
            statuses.join(" ")
        ));
    }
    if violations.is_empty() {
        report.push_str("\nAll invariants held.\n");
    } else {
        report.push_str(&format!("\n{} invariant violations:\n", violations.len()));
        for v in violations.iter().take(50) {
            report.push_str(&format!("- {v}\n"));
        }
    }
    print!("{report}");
    std::fs::write(dir.join("report.md"), &report)?;
    println!("report written to {}", dir.join("report.md").display());
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Clone)]
struct Login {
    email: String,
    user_id: UserId,
    user_seq_no: String,
}

#[derive(Default)]
struct OpStats {
    count: u64,
    latencies_us: Vec<u32>,
    by_status: BTreeMap<u16, u64>,
}

#[derive(Default)]
struct Stats {
    ops: BTreeMap<&'static str, OpStats>,
    server_errors: u64,
    upstream_errors: u64,
    /// Amount confirmed per account number, as the answers said.
    confirmed: HashMap<String, i64>,
    confirmed_ids: u64,
    duplicate_confirmations_refused: u64,
    violations: Vec<String>,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        for (name, op) in other.ops {
            let mine = self.ops.entry(name).or_default();
            mine.count += op.count;
            mine.latencies_us.extend(op.latencies_us);
            for (s, n) in op.by_status {
                *mine.by_status.entry(s).or_default() += n;
            }
        }
        self.server_errors += other.server_errors;
        self.upstream_errors += other.upstream_errors;
        for (k, v) in other.confirmed {
            *self.confirmed.entry(k).or_default() += v;
        }
        self.confirmed_ids += other.confirmed_ids;
        self.duplicate_confirmations_refused += other.duplicate_confirmations_refused;
        self.violations.extend(other.violations);
    }
}

struct Worker {
    http: reqwest::Client,
    base: String,
    rng: SplitMix64,
    stats: Stats,
    faults_on: Arc<AtomicBool>,
}

struct Session {
    token: String,
    holder: String,
    accounts: Vec<(i64, String)>,
    bank_accounts: Vec<i64>,
}

const READS: [&str; 9] = [
    "/api/v1/me",
    "/api/v1/accounts",
    "/api/v1/allocation",
    "/api/v1/history",
    "/api/v1/deposits",
    "/api/investments",
    "/api/v1/bank/accounts",
    "/api/v1/insight/spending",
    "/api/v1/insight/recurring",
];

impl Worker {
    fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    fn post(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    fn pick(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    /// Sends, records status and latency, classifies 5xx. Transport failures are violations.
    async fn send(
        &mut self,
        op: &'static str,
        req: reqwest::RequestBuilder,
    ) -> anyhow::Result<(u16, Value)> {
        let faults_before = self.faults_on.load(Ordering::SeqCst);
        let start = Instant::now();
        let result = async {
            let r = req.send().await?;
            let status = r.status().as_u16();
            let bytes = r.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        }
        .await;
        let elapsed = start.elapsed();
        let entry = self.stats.ops.entry(op).or_default();
        entry.count += 1;
        match result {
            Ok((status, bytes)) => {
                entry
                    .latencies_us
                    .push(elapsed.as_micros().min(u128::from(u32::MAX)) as u32);
                *entry.by_status.entry(status).or_default() += 1;
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                if status >= 500 {
                    let code = body["error"]["code"].as_str().unwrap_or("");
                    let faults = faults_before || self.faults_on.load(Ordering::SeqCst);
                    if faults && op == "bank_sync" && code == "bank_unavailable" {
                        self.stats.upstream_errors += 1;
                    } else {
                        self.stats.server_errors += 1;
                        self.stats
                            .violations
                            .push(format!("{op} answered {status}: {body}"));
                    }
                }
                Ok((status, body))
            }
            Err(e) => {
                *entry.by_status.entry(0).or_default() += 1;
                self.stats.violations.push(format!("{op}: no answer ({e})"));
                Err(e.into())
            }
        }
    }

    async fn login(&mut self, email: &str) -> anyhow::Result<String> {
        let req = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": PASSWORD}));
        let (status, body) = self.send("login", req).await?;
        if status != 200 {
            bail!("login of {email} answered {status} {body}");
        }
        body["access_token"]
            .as_str()
            .map(str::to_string)
            .context("login answered no access_token")
    }

    async fn session(&mut self, email: &str) -> anyhow::Result<Session> {
        let token = self.login(email).await?;
        let (_, me) = self.send("read", self.get("/api/v1/me", &token)).await?;
        let holder = me["customer_name"]
            .as_str()
            .or_else(|| me["user"]["customer_name"].as_str())
            .context("the login has no customer")?
            .to_string();
        let (_, accounts) = self
            .send("read", self.get("/api/v1/accounts", &token))
            .await?;
        let accounts = accounts
            .as_array()
            .context("accounts")?
            .iter()
            .filter_map(|a| Some((a["id"].as_i64()?, a["account_number"].as_str()?.to_string())))
            .collect::<Vec<_>>();
        if accounts.is_empty() {
            bail!("{email} has no accounts");
        }
        Ok(Session {
            token,
            holder,
            accounts,
            bank_accounts: Vec::new(),
        })
    }

    async fn run(mut self, login: Login, deadline: Instant) -> Stats {
        let mut session = match self.session(&login.email).await {
            Ok(s) => s,
            Err(e) => {
                self.stats.violations.push(format!("start: {e:#}"));
                return self.stats;
            }
        };
        while Instant::now() < deadline {
            let roll = self.pick(100);
            let step = match roll {
                0..=1 => match self.session(&login.email).await {
                    Ok(s) => {
                        session = s;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                2..=51 => self.read(&session).await,
                52..=79 => self.deposit(&session).await,
                80..=87 => self.sync(&mut session).await,
                _ => self.bank_read(&mut session).await,
            };
            if let Err(e) = step {
                self.stats.violations.push(format!("{e:#}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        self.stats
    }

    async fn read(&mut self, s: &Session) -> anyhow::Result<()> {
        let (id, _) = s.accounts[self.pick(s.accounts.len())].clone();
        let path = match self.pick(READS.len() + 4) {
            i if i < READS.len() => READS[i].to_string(),
            i if i == READS.len() => format!("/api/v1/accounts/{id}"),
            i if i == READS.len() + 1 => format!("/api/v1/accounts/{id}/holdings"),
            i if i == READS.len() + 2 => format!("/api/v1/accounts/{id}/allocation"),
            _ => format!("/api/v1/accounts/{id}/history"),
        };
        let (status, _) = self.send("read", self.get(&path, &s.token)).await?;
        if status != 200 {
            bail!("GET {path} answered {status}");
        }
        Ok(())
    }

    async fn bank_read(&mut self, s: &mut Session) -> anyhow::Result<()> {
        if s.bank_accounts.is_empty() {
            let (_, list) = self
                .send("bank_read", self.get("/api/v1/bank/accounts", &s.token))
                .await?;
            s.bank_accounts = list
                .as_array()
                .map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect())
                .unwrap_or_default();
            return Ok(());
        }
        let id = s.bank_accounts[self.pick(s.bank_accounts.len())];
        let path = format!("/api/v1/bank/accounts/{id}/transactions?per_page=50");
        let (status, _) = self.send("bank_read", self.get(&path, &s.token)).await?;
        if status != 200 {
            bail!("GET {path} answered {status}");
        }
        Ok(())
    }

    async fn sync(&mut self, s: &mut Session) -> anyhow::Result<()> {
        let (status, body) = self
            .send("bank_sync", self.post("/api/v1/bank/sync", &s.token))
            .await?;
        match status {
            // 202: the sync goes on after the request (it holds the lease until it ends).
            200 | 202 => {
                s.bank_accounts.clear();
                Ok(())
            }
            // Another worker of the same login is syncing; the sandbox failing is counted in send.
            409 if body["error"]["code"] == "sync_running" => Ok(()),
            502 | 503 => Ok(()),
            _ => bail!("bank sync answered {status} {body}"),
        }
    }

    async fn deposit(&mut self, s: &Session) -> anyhow::Result<()> {
        let (_, number) = s.accounts[self.pick(s.accounts.len())].clone();
        let amount = 1 + self.pick(50_000) as i64;
        let legacy_create = self.pick(4) == 0;
        let path = if legacy_create {
            "/api/transfers-verifications"
        } else {
            "/api/v1/deposits"
        };
        let (status, body) = self
            .send(
                "deposit_create",
                self.post(path, &s.token).json(&json!({
                    "account_number": number,
                    "user_name": s.holder,
                    "transfer_amount": amount,
                })),
            )
            .await?;
        if status != 200 && status != 201 {
            bail!("{path} answered {status} {body}");
        }
        // The legacy route answers the identifier as a number, the versioned one as text.
        let id = match &body["transfer_identifier"] {
            Value::String(id) => id.clone(),
            Value::Number(id) => id.to_string(),
            _ => bail!("{path} answered {status} without a transfer_identifier: {body}"),
        };
        let signature = hex::encode(Sha512::digest(
            format!("{number}{}{amount}", s.holder).as_bytes(),
        ));
        if self.pick(10) == 0 {
            let wrong = hex::encode(Sha512::digest(
                format!("{number}{}{}", s.holder, amount + 1).as_bytes(),
            ));
            let (status, _) = self
                .send(
                    "deposit_confirm_wrong",
                    self.post(&format!("/api/v1/deposits/{id}/confirm"), &s.token)
                        .json(&json!({"signature": wrong})),
                )
                .await?;
            if status != 422 {
                bail!("a wrong signature answered {status}");
            }
        }
        // One to three confirmations of the same identifier at once, through both routes.
        let copies = 1 + self.pick(3);
        let mut requests = Vec::new();
        for _ in 0..copies {
            let legacy = self.pick(2) == 0;
            let req = if legacy {
                self.post("/api/transfers", &s.token)
                    .json(&json!({"signature": signature, "transfer_identifier": id}))
            } else {
                self.post(&format!("/api/v1/deposits/{id}/confirm"), &s.token)
                    .json(&json!({"signature": signature}))
            };
            requests.push(req.send());
        }
        let start = Instant::now();
        let answers = futures_util::future::join_all(requests).await;
        let elapsed = start.elapsed();
        let mut successes = 0;
        let mut pending = false;
        for answer in answers {
            let entry = self.stats.ops.entry("deposit_confirm").or_default();
            entry.count += 1;
            let answer = match answer {
                Ok(r) => {
                    let status = r.status().as_u16();
                    (status, r.json::<Value>().await.unwrap_or(Value::Null))
                }
                Err(e) => {
                    *entry.by_status.entry(0).or_default() += 1;
                    bail!("a confirmation got no answer: {e}");
                }
            };
            entry
                .latencies_us
                .push(elapsed.as_micros().min(u128::from(u32::MAX)) as u32);
            *entry.by_status.entry(answer.0).or_default() += 1;
            match answer {
                (200, body) if body["status"] == true => successes += 1,
                (409, body) if body["error"]["code"] == "already_completed" => {
                    self.stats.duplicate_confirmations_refused += 1;
                }
                (s, body) if s >= 500 => {
                    self.stats.server_errors += 1;
                    self.stats
                        .violations
                        .push(format!("deposit_confirm answered {s}: {body}"));
                    pending = true;
                }
                (s, body) => bail!("a confirmation answered {s} {body}"),
            }
        }
        match successes {
            1 => {
                self.stats.confirmed_ids += 1;
                *self.stats.confirmed.entry(number).or_default() += amount;
            }
            0 if pending => {}
            n => bail!("deposit {id}: {n} of {copies} confirmations succeeded"),
        }
        Ok(())
    }
}

async fn check_deposits(
    store: &dyn Store,
    baseline: &HashMap<String, (i64, i64)>,
    stats: &Stats,
    violations: &mut Vec<String>,
) -> anyhow::Result<String> {
    let deposits = store.deposits(Scope::Operator, 10_000_000).await?;
    let mut recorded: HashMap<String, i64> = HashMap::new();
    let mut confirmed_rows = 0u64;
    for d in deposits
        .iter()
        .filter(|d| d.status == DepositStatus::Confirmed)
    {
        confirmed_rows += 1;
        *recorded.entry(d.account_number.clone()).or_default() += d.amount.get();
    }
    if confirmed_rows != stats.confirmed_ids {
        violations.push(format!(
            "{} deposits confirmed according to the answers, {confirmed_rows} in the database",
            stats.confirmed_ids
        ));
    }
    let accounts = store.accounts(Scope::Operator).await?;
    let mut checked = 0;
    let mut total = 0i64;
    for a in &accounts {
        let observed = stats.confirmed.get(&a.account_number).copied().unwrap_or(0);
        let stored = recorded.get(&a.account_number).copied().unwrap_or(0);
        let Some(&(assets0, principal0)) = baseline.get(&a.account_number) else {
            violations.push(format!("account {} is not in today's files", a.id));
            continue;
        };
        let assets_growth = a.total_assets.get() - assets0;
        let principal_growth = a.principal.map_or(0, |p| p.get()) - principal0;
        if observed != stored || assets_growth != observed || principal_growth != observed {
            violations.push(format!(
                "account {}: confirmed {observed} (answers) / {stored} (database), total assets grew {assets_growth}, principal grew {principal_growth}",
                a.id
            ));
        }
        if observed != 0 {
            checked += 1;
            total += observed;
        }
    }
    Ok(format!(
        "deposits: {} confirmed once each ({} duplicate confirmations refused) into {checked} accounts, {total} won; total assets and principal of all {} accounts grew by exactly their confirmed deposits over today's provider figures",
        stats.confirmed_ids,
        stats.duplicate_confirmations_refused,
        accounts.len()
    ))
}

async fn check_bank(
    store: &dyn Store,
    handle: &ginkgo_sandbox::SandboxHandle,
    logins: &[Login],
    today: NaiveDate,
    violations: &mut Vec<String>,
) -> anyhow::Result<String> {
    type Key = (NaiveDate, String, i64, i64, String);
    let mut stored_total = 0usize;
    let mut accounts_total = 0usize;
    for login in logins {
        let accounts = store.bank_accounts(login.user_id).await?;
        let txns = store
            .all_bank_transactions(login.user_id, None, None)
            .await?;
        stored_total += txns.len();
        let fins = handle.registered_accounts(&login.user_seq_no);
        for fin in fins {
            accounts_total += 1;
            let Some(account) = accounts.iter().find(|a| a.fintech_use_num == fin) else {
                violations.push(format!("{}: bank account not stored", login.email));
                continue;
            };
            let mut expected: Vec<Key> = handle
                .transactions(&fin)
                .unwrap_or_default()
                .into_iter()
                .filter(|t| t.date <= today)
                .map(|t| {
                    (
                        t.date,
                        t.time.format("%H%M%S").to_string(),
                        t.amount.get(),
                        t.after_balance.get(),
                        t.memo,
                    )
                })
                .collect();
            let mut got: Vec<Key> = txns
                .iter()
                .filter(|t| t.account_id == account.id)
                .map(|t| {
                    (
                        t.date,
                        t.time.clone(),
                        t.amount.get(),
                        t.balance_after.get(),
                        t.memo.clone(),
                    )
                })
                .collect();
            expected.sort();
            got.sort();
            if expected != got {
                violations.push(format!(
                    "{}: bank account {} holds {} transactions, the bank {}",
                    login.email,
                    account.id,
                    got.len(),
                    expected.len()
                ));
            }
        }
    }
    Ok(format!(
        "bank: {stored_total} transactions in {accounts_total} accounts, each stored exactly once (compared with the sandbox's rows)"
    ))
}

/// Memory growth is judged only on runs at least this long: a short run ends during warm-up.
const MEMORY_JUDGED_AFTER_S: f64 = 120.0;

fn check_memory(samples: &[(f64, u64)], violations: &mut Vec<String>) -> String {
    if samples.len() < 10 {
        violations.push("too few memory samples".into());
        return "memory: not measured".into();
    }
    let n = samples.len();
    // After warm-up: the highest level of the second tenth; at the end: of the last tenth.
    let warm = samples[n / 10..n / 5]
        .iter()
        .map(|s| s.1)
        .max()
        .unwrap_or(0);
    let end = samples[n - n / 10..].iter().map(|s| s.1).max().unwrap_or(0);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let limit = warm + warm / 4 + 16 * 1024;
    let span = samples[n - 1].0 - samples[0].0;
    if span < MEMORY_JUDGED_AFTER_S {
        return format!(
            "server memory (RSS): {} MiB after warm-up, {} MiB at the end, peak {} MiB ({n} samples; a run under {MEMORY_JUDGED_AFTER_S:.0} s is too short to judge growth)",
            warm / 1024,
            end / 1024,
            peak / 1024
        );
    }
    if end > limit {
        violations.push(format!(
            "server memory grew from {} MiB after warm-up to {} MiB at the end",
            warm / 1024,
            end / 1024
        ));
    }
    format!(
        "server memory (RSS): {} MiB after warm-up, {} MiB at the end, peak {} MiB ({n} samples)",
        warm / 1024,
        end / 1024,
        peak / 1024
    )
}

fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `ginkgo serve` as a child process, configured through `GINKGO_…` variables.
pub struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    pub fn start(config: &Config, dir: &std::path::Path, port: u16) -> anyhow::Result<Self> {
        let log = std::fs::File::create(dir.join("server.log"))?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("GINKGO_DATABASE_URL", &config.database_url)
            .env("GINKGO_JWT_SECRET", config.auth.jwt_secret.expose())
            .env("GINKGO_SECURE_COOKIES", "false")
            .env("GINKGO_BATCH_ENABLED", "false")
            .env("GINKGO_BANK_SYNC_INTERVAL_MINUTES", "0")
            .env("GINKGO_LOG", "warn")
            // Every worker stands for a different customer but all come from this one address:
            // the per-address budget of the authentication routes would refuse their logins.
            .env("GINKGO_AUTH_REQUESTS_PER_MINUTE", "1000000")
            .env_remove("GINKGO_CONFIG")
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(url) = &config.bank.base_url {
            cmd.env("GINKGO_BANK_BASE_URL", url)
                .env("GINKGO_BANK_CLIENT_ID", &config.bank.client_id)
                .env(
                    "GINKGO_BANK_CLIENT_SECRET",
                    config.bank.client_secret.expose(),
                )
                .env("GINKGO_BANK_REDIRECT_URI", &config.bank.redirect_uri)
                .env(
                    "GINKGO_BANK_INSTITUTION_CODE",
                    &config.bank.institution_code,
                )
                .env("GINKGO_BANK_TOKEN_KEY", config.bank.token_key.expose());
        }
        Ok(ServerProcess {
            child: cmd.spawn().context("cannot start ginkgo serve")?,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn wait_ready(&mut self, base: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited at start ({status}); see server.log");
            }
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the server did not answer /healthz within 30 s")
    }

    /// SIGTERM, then waits for a graceful exit; true when it exited with success.
    pub fn stop(&mut self) -> anyhow::Result<bool> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.success());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Ok(false)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
