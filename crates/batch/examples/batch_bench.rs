//! Batch benchmark: generate a day, then time parsing alone and parsing + validation.
//!
//! ```text
//! cargo run --release -p ginkgo-batch --example batch_bench -- [accounts] [dir] [utf8|cp949|xlsx] [--reuse]
//! ```
//! `BENCH_CHUNK` sets the chunk size handed to the sink (default 10,000).
//! `--reuse` reads what an earlier run generated in `dir`. Default: 1,000,000 accounts (14,000,000 holding rows) in a temp folder. Prints the times,
//! rows/s and the peak RSS of this process. Figures and the machine they came from are in
//! `crates/batch/BENCHMARKS.md`.

use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Instant;

use ginkgo_batch::generate::{GenerateOptions, generate};
use ginkgo_batch::{Format, Snapshot, TextEncoding, parse_only};

fn peak_rss_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "?".to_string())
}

/// CPU seconds (user + system) used by this process so far, from `/proc/self/stat` (clock ticks
/// of 1/100 s, the Linux default). The machine is shared and noisy: CPU time says more than
/// wall time there.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // After the command name: state is field 0, utime 11, stime 12.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let accounts: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ginkgo-batch-bench"));
    let (format, encoding) = match args.next().as_deref() {
        Some("cp949") => (Format::Csv, TextEncoding::Cp949),
        Some("xlsx") => (Format::Xlsx, TextEncoding::Utf8),
        _ => (Format::Csv, TextEncoding::Utf8),
    };
    let opts = GenerateOptions {
        accounts,
        error_rate: 0.001,
        format,
        encoding,
        seed: 20_261_122,
        quote_all: true,
        ..GenerateOptions::default()
    };

    let reuse = args.next().as_deref() == Some("--reuse");
    let chunk_size: usize = std::env::var("BENCH_CHUNK")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    if !reuse {
        let t = Instant::now();
        let cpu = cpu_secs();
        let manifest = generate(&dir, &opts)?;
        let secs = t.elapsed().as_secs_f64();
        let bytes = std::fs::metadata(&manifest.files[1])?.len();
        println!(
            "generate: {} accounts, {} holding rows, {:.1} MiB in {secs:.2} s, {:.2} s CPU ({:.2} M rows/s), peak RSS {}",
            accounts,
            manifest.holding_rows,
            bytes as f64 / 1048576.0,
            cpu_secs() - cpu,
            manifest.holding_rows as f64 / secs / 1e6,
            peak_rss_mib()
        );
    }

    let t = Instant::now();
    let cpu = cpu_secs();
    let counts = parse_only(&dir)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "parse only: {} holding rows in {secs:.2} s, {:.2} s CPU ({:.2} M rows/s), peak RSS {}",
        counts.holdings,
        cpu_secs() - cpu,
        counts.holdings as f64 / secs / 1e6,
        peak_rss_mib()
    );

    let t = Instant::now();
    let cpu = cpu_secs();
    let snapshot = Snapshot::open(&dir)?;
    let open_secs = t.elapsed().as_secs_f64();
    let open_cpu = cpu_secs() - cpu;
    let mut loaded = 0u64;
    let report = snapshot.stream_holdings::<Infallible, _>(chunk_size, |chunk| {
        loaded += chunk.len() as u64;
        Ok(())
    })?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "open (SHA-256 + instruments + principals): {open_secs:.2} s, {open_cpu:.2} s CPU; open + validate holdings: {secs:.2} s, {:.2} s CPU ({:.2} M rows/s), {} loaded, {} rejected, {} warnings, peak RSS {}",
        cpu_secs() - cpu,
        report.counts[1].read as f64 / secs / 1e6,
        loaded,
        report.total_rejected(),
        report.warnings.len(),
        peak_rss_mib()
    );
    Ok(())
}
