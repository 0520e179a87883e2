use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Subcommand;
use ginkgo_batch::generate::{GenerateOptions, generate, generate_days};
use ginkgo_batch::{Format, TextEncoding};
use ginkgo_server::Config;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand)]
pub enum BatchCommand {
    /// Load one day's three provider files from DIR. Exits 0 when the run committed, even with
    /// rejected rows; 1 when it failed (then nothing changed); 3 when the delivery was held as
    /// implausible next to the previous run (nothing changed; see `batch release`).
    Load {
        /// Business date (YYYY-MM-DD); defaults to the date in the folder or file names.
        #[arg(long, value_parser = parse_date)]
        date: Option<NaiveDate>,
        dir: PathBuf,
    },
    /// Load a held run's files (still in the folder it was read from, unchanged) without the
    /// plausibility check, and mark it released, in one transaction. Exits 0 when the release
    /// committed, 1 when it failed or was refused (then nothing changed).
    Release { run: i64 },
    /// List recent runs.
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Write a run's rejected rows as CSV (to standard output, or --out FILE).
    Rejects {
        run: i64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum GenerateCommand {
    /// Write the provider's three files (realistic names, the real instruments, injected errors).
    Provider {
        #[arg(long, default_value_t = 50)]
        accounts: u64,
        /// Business date of the (first) day.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        /// Fraction of rows to break, 0.0–1.0.
        #[arg(long, default_value_t = 0.0)]
        errors: f64,
        /// Write this many consecutive days into OUT/YYYY-MM-DD/ (prices drift day to day).
        #[arg(long)]
        days: Option<u32>,
        #[arg(long, default_value = "csv", value_parser = ["csv", "xlsx"])]
        format: String,
        #[arg(long, default_value = "utf8", value_parser = ["utf8", "cp949"])]
        encoding: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        out: PathBuf,
    },
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    ginkgo_domain::time::parse_date(s).ok_or_else(|| format!("'{s}' is not a date (YYYY-MM-DD)"))
}

pub async fn run(cmd: BatchCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = crate::open_store(config).await?;
    match cmd {
        BatchCommand::Load { date, dir } => {
            let (bar, progress) = progress_bar();
            let options =
                ginkgo_server::jobs::LoadOptions::new(date, config.batch.hold_below_percent);
            let result = ginkgo_server::jobs::load_day_with(store, &dir, options, progress).await;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            Ok(report(result))
        }
        BatchCommand::Release { run } => {
            let (bar, progress) = progress_bar();
            let result = ginkgo_server::jobs::release_run(store, run, progress).await;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            Ok(report(result))
        }
        BatchCommand::Runs { limit } => {
            println!(
                "{:>5}  {:<10}  {:<9}  {:>10} {:>10} {:>8} {:>8}  {:>8}",
                "run", "date", "status", "read", "loaded", "rejected", "warnings", "ms"
            );
            for r in store.runs(limit).await? {
                println!(
                    "{:>5}  {:<10}  {:<9}  {:>10} {:>10} {:>8} {:>8}  {:>8}{}",
                    r.id,
                    r.business_date,
                    format!("{:?}", r.status).to_lowercase(),
                    r.counts.rows_read,
                    r.counts.rows_loaded,
                    r.counts.rows_rejected,
                    r.counts.warnings,
                    r.duration_ms,
                    r.error.map(|e| format!("  {e}")).unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        BatchCommand::Rejects { run, out } => {
            let findings = store.run_findings(run).await.map_err(|e| match e {
                ginkgo_store::StoreError::NotFound => anyhow::anyhow!("no run {run}"),
                other => other.into(),
            })?;
            let csv = ginkgo_server::routes::batch::rejects_to_csv(&findings);
            match out {
                Some(path) => {
                    std::fs::write(&path, csv)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!(
                        "{} rejected rows written to {}",
                        findings.rejects.len(),
                        path.display()
                    );
                }
                None => print!("{csv}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

type ProgressFn = Option<Box<dyn FnMut(ginkgo_batch::Progress) + Send>>;

fn progress_bar() -> (Option<ProgressBar>, ProgressFn) {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let progress: ProgressFn = bar.clone().map(|b| {
        Box::new(move |p: ginkgo_batch::Progress| {
            b.set_length(p.bytes_total);
            b.set_position(p.bytes_read);
        }) as Box<dyn FnMut(ginkgo_batch::Progress) + Send>
    });
    (bar, progress)
}

/// Prints a load's outcome and answers the exit code (0 committed, 1 failed, 3 held).
fn report(result: Result<ginkgo_store::RunRecord, ginkgo_server::jobs::FailedJob>) -> ExitCode {
    match result {
        Ok(run) if run.status == ginkgo_store::RunStatus::Held => {
            println!(
                "run {} HELD for {}: nothing changed. {}",
                run.id,
                run.business_date,
                run.error.as_deref().unwrap_or("")
            );
            if let Some(p) = run.previous {
                println!(
                    "  good rows       this delivery   previous run\n  accounts     {:>18} {:>14}\n  holdings     {:>18} {:>14}\n  instruments  {:>18} {:>14}\n  principals   {:>18} {:>14}",
                    run.accounts_loaded,
                    p.accounts,
                    run.counts.holdings_loaded,
                    p.holdings,
                    run.counts.instruments_loaded,
                    p.instruments,
                    run.counts.principals_loaded,
                    p.principals
                );
            }
            println!(
                "release it with: ginkgo batch release {} (or deliver corrected files)",
                run.id
            );
            ExitCode::from(3)
        }
        Ok(run) => {
            println!(
                "run {} committed for {}: {} rows read, {} loaded, {} rejected, {} warnings, {} accounts ({} deactivated) in {} ms",
                run.id,
                run.business_date,
                run.counts.rows_read,
                run.counts.rows_loaded,
                run.counts.rows_rejected,
                run.counts.warnings,
                run.accounts_loaded,
                run.accounts_deactivated,
                run.duration_ms
            );
            if let Some(held) = run.releases {
                println!("  released held run {held}");
            }
            if let Some(d) = run.replaced {
                println!(
                    "  replaced run {} for the same date: {} accounts added, {} removed, {} changed",
                    d.replaced_run, d.accounts_added, d.accounts_removed, d.accounts_changed
                );
            }
            for f in &run.files {
                println!(
                    "  {:<32} {:>12} bytes  sha256 {}",
                    f.name, f.bytes, f.sha256
                );
            }
            if run.counts.rows_rejected > 0 {
                println!("rejected rows: ginkgo batch rejects {}", run.id);
            }
            ExitCode::SUCCESS
        }
        Err(failed) => {
            eprintln!("error: {}", failed.error);
            if let Some(r) = failed.run {
                eprintln!(
                    "recorded as failed run {}; the current data is unchanged",
                    r.id
                );
            }
            ExitCode::FAILURE
        }
    }
}

pub fn generate_command(cmd: GenerateCommand) -> anyhow::Result<()> {
    let GenerateCommand::Provider {
        accounts,
        date,
        errors,
        days,
        format,
        encoding,
        seed,
        out,
    } = cmd;
    let opts = GenerateOptions {
        accounts,
        date,
        error_rate: errors,
        format: if format == "xlsx" {
            Format::Xlsx
        } else {
            Format::Csv
        },
        encoding: if encoding == "cp949" {
            TextEncoding::Cp949
        } else {
            TextEncoding::Utf8
        },
        seed,
        quote_all: true,
    };
    match days {
        Some(n) => {
            let manifests = generate_days(&out, &opts, n)?;
            let broken: usize = manifests.iter().map(|m| m.errors.len()).sum();
            println!(
                "{n} days written under {} ({broken} rows broken on purpose)",
                out.display()
            );
        }
        None => {
            let m = generate(&out, &opts)?;
            println!(
                "written to {} ({} rows broken on purpose)",
                out.display(),
                m.errors.len()
            );
        }
    }
    Ok(())
}
