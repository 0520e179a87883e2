//! `ginkgo demo`: the whole product on a fresh SQLite database in a local folder, with generated
//! provider history and demo logins printed on start.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::Days;
use clap::Args;
use ginkgo_batch::generate::{GenerateOptions, generate_days};
use ginkgo_batch::{Format, TextEncoding};
use ginkgo_server::Config;
use ginkgo_server::auth::{hash_password, random_token};
use ginkgo_server::config::Secret;
use ginkgo_store::{NewUser, Role, Scope, Store};

#[derive(Args)]
pub struct DemoArgs {
    /// Folder for the demo database and generated files (emptied on start).
    #[arg(long, default_value = ".ginkgo/demo")]
    dir: PathBuf,
    /// Address for the web app and API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Days of provider history to generate and load.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Customer accounts in the generated provider files.
    #[arg(long, default_value_t = 50)]
    accounts: u64,
    /// Address for the Open Banking sandbox.
    #[arg(long, default_value = "127.0.0.1:9090")]
    sandbox_listen: String,
}

pub const DEMO_PASSWORD: &str = "ginkgo-demo-2026";

/// Written into a folder the demo made: only such a folder (or an empty one) is emptied.
const MARKER: &str = ".ginkgo-demo";

/// Takes the demo folder's lock (`<dir>.lock`, next to it, so emptying the folder keeps it),
/// held until the process ends; refuses when another demo holds it.
fn lock_folder(dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let name = dir
        .file_name()
        .map(|n| format!("{}.lock", n.to_string_lossy()))
        .unwrap_or_else(|| "ginkgo-demo.lock".into());
    let path = dir.with_file_name(name);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the demo lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another `ginkgo demo` is running on {} (it holds {}); stop it first, or give this \
             one another --dir; nothing was changed",
            dir.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Empties the demo folder for a fresh start, refusing a folder that is not the demo's own.
fn fresh_folder(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        let ours = dir.join(MARKER).is_file();
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_none();
        if !ours && !empty {
            anyhow::bail!(
                "{} is not empty and was not made by `ginkgo demo`; the demo empties its folder \
                 on start, so give it a new or empty one with --dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot empty the demo folder {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(MARKER),
        "made by `ginkgo demo`; emptied on its next start\n",
    )?;
    Ok(())
}

pub async fn run(args: DemoArgs, database_url: Option<&str>) -> anyhow::Result<()> {
    if database_url.is_some() {
        eprintln!(
            "note: `ginkgo demo` ignores --database-url (GINKGO_DATABASE_URL): it always runs on \
             a fresh SQLite database in --dir; `ginkgo serve` uses another database"
        );
    }
    // Nothing is touched before the lock and both ports are ours: a second demo on the same
    // folder (or the same ports) stops here and leaves the running one's folder alone.
    let _lock = lock_folder(&args.dir)?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another demo running? use --listen); nothing was changed",
                args.listen
            )
        })?;
    let mut config = Config {
        database_url: format!("sqlite://{}/ginkgo.db", args.dir.display()),
        ..Config::default()
    };
    config.listen = listener.local_addr()?;
    config.auth.jwt_secret = Secret::new(random_token());
    // The demo is plain HTTP on this machine.
    config.auth.secure_cookies = false;
    config.batch.enabled = false;
    // The bank: Ginkgo's own Open Banking sandbox on its own port.
    let sandbox_config = ginkgo_sandbox::SandboxConfig::default();
    let sandbox_listener = tokio::net::TcpListener::bind(&args.sandbox_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} for the sandbox (is another demo running? use \
                 --sandbox-listen); nothing was changed",
                args.sandbox_listen
            )
        })?;
    let sandbox_addr = sandbox_listener.local_addr()?;
    fresh_folder(&args.dir)?;
    config.bank.base_url = Some(format!("http://{sandbox_addr}"));
    config.bank.client_id = sandbox_config.client_id.clone();
    config.bank.client_secret = Secret::new(sandbox_config.client_secret.clone());
    config.bank.redirect_uri = format!("http://{}/api/v1/bank/callback", config.listen);
    config.bank.institution_code = sandbox_config.client_use_code.clone();
    config.bank.token_key = Secret::new(random_token());
    config.validate()?;
    println!("Starting the Open Banking sandbox (generating a year of bank history)…");
    let sandbox = tokio::task::spawn_blocking(move || ginkgo_sandbox::Sandbox::new(sandbox_config))
        .await?
        .map_err(|e| anyhow::anyhow!("sandbox: {e}"))?;
    let sandbox_users: Vec<(String, String, usize)> = sandbox
        .handle()
        .users()
        .iter()
        .map(|u| (u.name.clone(), u.user_seq_no.clone(), u.accounts.len()))
        .collect();
    tokio::spawn(async move {
        if let Err(e) = sandbox
            .serve(sandbox_listener, crate::shutdown_signal())
            .await
        {
            tracing::error!(error = %e, "sandbox stopped");
        }
    });
    let store = crate::open_store(&config).await?;

    let inbox = args.dir.join("inbox");
    let today = ginkgo_domain::time::today_kst();
    let first = today
        .checked_sub_days(Days::new(u64::from(args.days.saturating_sub(1))))
        .unwrap_or(today);
    let opts = GenerateOptions {
        accounts: args.accounts,
        date: first,
        error_rate: 0.005,
        format: Format::Csv,
        encoding: TextEncoding::Utf8,
        seed: 2026,
        quote_all: true,
    };
    println!(
        "Generating {} days of provider files for {} accounts…",
        args.days, args.accounts
    );
    let manifests = generate_days(&inbox, &opts, args.days)?;
    for m in &manifests {
        if let Err(failed) =
            ginkgo_server::jobs::load_day(store.clone(), &m.dir, Some(m.date), None).await
        {
            anyhow::bail!("loading the demo day {} failed: {}", m.date, failed.error);
        }
    }
    let logins = create_logins(&store).await?;

    println!();
    println!("Ginkgo demo is running: http://{}/", config.listen);
    println!("  API document: http://{}/api/openapi.json", config.listen);
    println!("  Database:     {}", config.database_url);
    println!("  Logins (password for all: {DEMO_PASSWORD}):");
    for (email, what) in &logins {
        println!("    {email:<28} {what}");
    }
    println!(
        "  Bank sandbox: http://{sandbox_addr}/ — link a bank from the web app; test users on its consent page:"
    );
    for (name, seq, n) in &sandbox_users {
        let accounts = if *n == 1 { "account" } else { "accounts" };
        println!("    {name} (user {seq}, {n} {accounts})");
    }
    println!("Press Ctrl-C to stop.");
    crate::serve_on(listener, config, store).await
}

async fn create_logins(store: &Arc<dyn Store>) -> anyhow::Result<Vec<(String, String)>> {
    let hash = hash_password(DEMO_PASSWORD).map_err(|e| anyhow::anyhow!(e.message))?;
    let mut out = Vec::new();
    store
        .create_user(NewUser {
            email: "operator@ginkgo.demo".into(),
            password_hash: hash.clone(),
            role: Role::Operator,
            customer_id: None,
        })
        .await?;
    out.push((
        "operator@ginkgo.demo".to_string(),
        "operator: batch runs and rejects".to_string(),
    ));
    let accounts = store.accounts(Scope::Operator).await?;
    let mut seen = Vec::new();
    for a in &accounts {
        if seen.contains(&a.customer_id) {
            continue;
        }
        seen.push(a.customer_id);
        let n = seen.len();
        let email = format!("customer{n}@ginkgo.demo");
        store
            .create_user(NewUser {
                email: email.clone(),
                password_hash: hash.clone(),
                role: Role::Customer,
                customer_id: Some(a.customer_id),
            })
            .await?;
        out.push((
            email,
            format!(
                "customer {} ({} {})",
                a.customer_name, a.broker, a.account_number
            ),
        ));
        if n == 3 {
            break;
        }
    }
    if let Some(a) = accounts.iter().find(|a| !seen.contains(&a.customer_id)) {
        out.push((
            "(sign up)".into(),
            format!(
                "then claim customer '{}' with account number {}",
                a.customer_name, a.account_number
            ),
        ));
    }
    Ok(out)
}
