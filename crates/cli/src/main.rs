//! `ginkgo`: the one binary. `ginkgo --help` lists the commands.

mod batch;
mod bench;
mod demo;
mod sandbox_link;
mod soak;
mod users;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ginkgo_server::{AppState, Config};
use ginkgo_store::Store;

/// mimalloc: the batch reader allocates records that the loader thread frees; glibc's arenas
/// let that pattern grow the resident set several times over.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "ginkgo", version, about = "Ginkgo — customer asset service")]
struct Cli {
    /// Configuration file (TOML); `GINKGO_…` variables and flags override it.
    #[arg(long, global = true, env = "GINKGO_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://path/to/ginkgo.db (default) or postgres://user@host/db.
    #[arg(long, global = true, env = "GINKGO_DATABASE_URL")]
    database_url: Option<String>,
    /// Log format: `text`, or `json` (one object a line, for log collectors).
    #[arg(long, global = true, env = "GINKGO_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (API, web app, daily snapshot schedule).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, env = "GINKGO_LISTEN")]
        listen: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage logins (operators and customers).
    #[command(subcommand)]
    User(users::UserCommand),
    /// The daily provider snapshot: load a day, list runs, export rejects.
    #[command(subcommand)]
    Batch(batch::BatchCommand),
    /// Generate data files.
    #[command(subcommand)]
    Generate(batch::GenerateCommand),
    /// Run the whole product locally on a fresh SQLite database with demo data.
    Demo(demo::DemoArgs),
    /// Benchmarks (figures in docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Mixed load against a real server process for a bounded time, then the invariants
    /// (no 5xx, deposits applied exactly once, bank rows stored once, memory flat).
    Soak(soak::SoakArgs),
    /// Make a consistent copy of the running SQLite database in the new file DEST (SQLite's
    /// online backup API; the server keeps serving). PostgreSQL: use pg_dump (deploy/README.md).
    Backup {
        /// The new file.
        dest: PathBuf,
    },
    /// Put a backup in place of the SQLite database, after checking it (integrity, known
    /// migrations). Stop the server first; the database it replaces is kept beside it.
    Restore {
        /// The backup file.
        source: PathBuf,
        /// Confirm that the server is stopped.
        #[arg(long)]
        server_stopped: bool,
    },
    /// Secrets: `ginkgo secret generate` prints a new random key (32 bytes, base64url) for
    /// auth.jwt_secret or bank.token_key.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Run the local Open Banking sandbox (a faithful imitation of the KFTC testbed).
    Sandbox {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: String,
        /// Sandbox configuration (TOML): users, seed, history, redirect URIs, faults.
        #[arg(long)]
        sandbox_config: Option<PathBuf>,
        /// `realistic` (the generator, the default) or `testbed` (answers shaped as the real
        /// KFTC testbed's: canned rows whatever the period, "00000000" dates, Y with an empty
        /// key …); overrides the configuration's `profile`.
        #[arg(long)]
        profile: Option<ginkgo_sandbox::Profile>,
    },
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Print a new random key: `GINKGO_JWT_SECRET=$(ginkgo secret generate)`, or into a file
    /// for GINKGO_JWT_SECRET_FILE (`ginkgo secret generate > jwt.key; chmod 600 jwt.key`).
    Generate,
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GINKGO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// The configuration: file, then environment, then flags; validated.
pub fn load_config(
    cli_config: Option<&PathBuf>,
    database_url: Option<&String>,
) -> anyhow::Result<Config> {
    let env = std::env::vars().filter(|(k, _)| k.starts_with("GINKGO_"));
    let mut config = Config::load(cli_config.map(|p| p.as_path()), env)?;
    for name in &config.unknown_variables {
        eprintln!("warning: {name} is not a Ginkgo setting and is ignored (a typo?)");
    }
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(url) = database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

/// The SQLite file of the configuration; PostgreSQL has its own tools.
fn sqlite_path(config: &Config) -> anyhow::Result<PathBuf> {
    if !config.database_url.starts_with("sqlite:") {
        anyhow::bail!(
            "backup and restore are for SQLite; for PostgreSQL use pg_dump -Fc and pg_restore (deploy/README.md)"
        );
    }
    Ok(ginkgo_store_sqlite::path_from_url(&config.database_url)?)
}

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    ginkgo_server::open_store(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                ginkgo_server::config::redact_url(&config.database_url)
            )
        })
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let config = || load_config(cli.config.as_ref(), cli.database_url.as_ref());
    match cli.command {
        Command::Serve { listen } => {
            let mut config = config()?;
            if let Some(l) = listen {
                config.listen = l.parse().with_context(|| {
                    format!("--listen {l}: expected an address such as 127.0.0.1:8080")
                })?;
            }
            config.validate()?;
            let store = open_store(&config).await?;
            serve(config, store).await?;
        }
        Command::Migrate => {
            let config = config()?;
            open_store(&config).await?;
            println!(
                "migrations applied to {}",
                ginkgo_server::config::redact_url(&config.database_url)
            );
        }
        Command::User(cmd) => {
            let config = config()?;
            let store = open_store(&config).await?;
            users::run(cmd, store).await?;
        }
        Command::Batch(cmd) => {
            let config = config()?;
            return batch::run(cmd, &config).await;
        }
        Command::Generate(cmd) => batch::generate_command(cmd)?,
        Command::Backup { dest } => {
            let config = config()?;
            let source = sqlite_path(&config)?;
            let report = tokio::task::spawn_blocking(move || {
                ginkgo_store_sqlite::backup::backup(&source, &dest).map(|r| (dest, r))
            })
            .await??;
            println!(
                "backed up to {} ({} bytes, migrations through {})",
                report.0.display(),
                report.1.bytes,
                report.1.migrations.last().map_or("-", String::as_str)
            );
        }
        Command::Restore {
            source,
            server_stopped,
        } => {
            let config = config()?;
            let dest = sqlite_path(&config)?;
            if !server_stopped {
                anyhow::bail!(
                    "stop every `ginkgo serve` using {} first, then run again with --server-stopped",
                    dest.display()
                );
            }
            let (kept, report) = tokio::task::spawn_blocking(move || {
                ginkgo_store_sqlite::backup::restore(&source, &dest)
            })
            .await??;
            if let Some(kept) = kept {
                println!("the previous database is kept as {}", kept.display());
            }
            println!(
                "restored ({} bytes, migrations through {}); start the server",
                report.bytes,
                report.migrations.last().map_or("-", String::as_str)
            );
        }
        Command::Secret(SecretCommand::Generate) => {
            println!("{}", ginkgo_server::auth::random_token())
        }
        Command::Demo(args) => {
            if cli.config.is_some() {
                eprintln!(
                    "note: `ginkgo demo` ignores --config (GINKGO_CONFIG): it configures itself"
                );
            }
            demo::run(args, cli.database_url.as_deref()).await?
        }
        Command::Bench(cmd) => bench::run(cmd, &config()?).await?,
        Command::Soak(args) => return soak::run(args, cli.database_url.clone()).await,
        Command::Sandbox {
            listen,
            sandbox_config,
            profile,
        } => {
            let mut config: ginkgo_sandbox::SandboxConfig = match sandbox_config {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    toml::from_str(&text).with_context(|| {
                        format!("invalid sandbox configuration {}", path.display())
                    })?
                }
                None => ginkgo_sandbox::SandboxConfig::default(),
            };
            if let Some(profile) = profile {
                config.profile = profile;
            }
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!(
                "Open Banking sandbox on http://{listen}/ (client_id {}, institution {}, profile {:?})",
                config.client_id, config.client_use_code, config.profile
            );
            ginkgo_sandbox::serve(config, listener, shutdown_signal()).await?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

pub async fn serve(config: Config, store: Arc<dyn Store>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    serve_on(listener, config, store).await
}

/// Serves on a bound listener: the API and web app, and the schedules this replica may run.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: Config,
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    tracing::info!(address = %config.listen, database = store.backend(), "serving");
    let sync_every = config.bank.sync_interval_minutes;
    let daily = config
        .batch
        .inbox
        .clone()
        .filter(|_| config.batch.enabled)
        .map(|inbox| (inbox, config.batch.daily_at));
    let state =
        AppState::try_new(store, config).map_err(|e| anyhow::anyhow!("bank configuration: {e}"))?;
    if let Some((inbox, daily_at)) = daily {
        tokio::spawn(ginkgo_server::jobs::schedule_daily(
            state.clone(),
            inbox,
            daily_at,
        ));
    }
    if state.bank().is_some() && sync_every > 0 {
        tokio::spawn(ginkgo_server::bank::schedule_sync(
            state.clone(),
            std::time::Duration::from_secs(sync_every * 60),
        ));
    }
    ginkgo_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}
