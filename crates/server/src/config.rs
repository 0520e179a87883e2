//! Configuration: defaults, then a TOML file, then `GINKGO_…` environment variables, then flags.
//! Validated once at start-up; secrets are typed so they never print.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveTime;
use serde::Deserialize;

/// A value that must never appear in logs or debug output.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://path/to/ginkgo.db` (default) or `postgres://user@host/db`.
    pub database_url: String,
    pub listen: SocketAddr,
    pub auth: AuthConfig,
    pub deposit: DepositConfig,
    pub batch: BatchConfig,
    pub bank: BankConfig,
    pub insight: InsightConfig,
    pub limits: LimitsConfig,
    /// Bearer token for `GET /metrics` (Prometheus); metrics are off (404) while it is empty.
    pub metrics_token: Secret,
    /// How long (ms) a read of investment data may be served from memory; 0 turns it off.
    pub read_cache_ms: u64,
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy you control).
    pub trust_forwarded_for: bool,
    /// On SIGTERM, answer `/readyz` with 503 for this many seconds (still serving) before
    /// closing the listener, so a load balancer stops routing here first; 0 to 300.
    pub shutdown_drain_seconds: u64,
    /// `GINKGO_…` variables that name no setting (a typo, most likely); `ginkgo` warns of them.
    #[serde(skip)]
    pub unknown_variables: Vec<String>,
    /// Problems that do not stop start-up (a configuration or secret file others can read);
    /// `ginkgo` prints them.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The most a single deposit may be configured to allow: 1조 (10^12) won keeps every sum of
/// cash lines far from `i64::MAX`.
pub const MAX_DEPOSIT_LIMIT: i64 = 1_000_000_000_000;

/// `GINKGO_…` variables that are not settings of the server but belong to the CLI or the tests.
const OTHER_VARIABLES: &[&str] = &[
    "GINKGO_CONFIG",
    "GINKGO_LOG",
    "GINKGO_LOG_FORMAT",
    "GINKGO_SEED_DATASET",
    "GINKGO_CHROMIUM",
    "GINKGO_CHROMEDRIVER",
];
const OTHER_PREFIXES: &[&str] = &["GINKGO_TEST_", "GINKGO_PROPERTY_"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HS256 key for access tokens: at least 32 bytes.
    pub jwt_secret: Secret,
    pub access_token_minutes: i64,
    pub refresh_token_days: i64,
    /// Failed logins allowed per account per minute; the next one is refused unchecked.
    pub max_failures_per_account: u32,
    /// Failed logins allowed per client address per minute.
    pub max_failures_per_address: u32,
    /// Set `Secure` on session cookies (turn off only for plain-HTTP local use).
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DepositConfig {
    /// The largest single deposit, in won.
    pub max_amount: i64,
    pub expiry_minutes: i64,
}

/// `HH:MM` or `HH:MM:SS` (Asia/Seoul), the same in the file and in the environment.
fn parse_daily_at(value: &str) -> Result<NaiveTime, String> {
    let value = value.trim();
    NaiveTime::parse_from_str(value, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(value, "%H:%M:%S"))
        .map_err(|_| {
            format!("'{value}' is not a time of day (expected HH:MM or HH:MM:SS, Asia/Seoul)")
        })
}

fn daily_at<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let text = String::deserialize(d)?;
    parse_daily_at(&text).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Folder with one sub-folder per business date (`YYYY-MM-DD/`) holding the three files.
    pub inbox: Option<PathBuf>,
    /// Daily run time, Asia/Seoul: `HH:MM` or `HH:MM:SS`.
    #[serde(deserialize_with = "daily_at")]
    pub daily_at: NaiveTime,
    pub enabled: bool,
    /// A delivery whose good accounts, holdings, instruments or principals are fewer than this
    /// percentage of the previous committed run's is held, not loaded, until an operator
    /// releases it (`ginkgo batch release RUN`). 0 turns the check off. The first run ever is
    /// never held.
    pub hold_below_percent: u32,
}

/// The Open Banking center (the real one, or Ginkgo's sandbox). Linking is off until `base_url`
/// is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BankConfig {
    /// e.g. `https://openapi.openbanking.or.kr`, or the sandbox's `http://127.0.0.1:9090`.
    pub base_url: Option<String>,
    pub client_id: String,
    pub client_secret: Secret,
    /// This server's callback as registered with the center: `https://…/api/v1/bank/callback`.
    pub redirect_uri: String,
    /// The 10-character institution code (`client_use_code`).
    pub institution_code: String,
    /// Key for encrypting bank tokens at rest: at least 32 characters.
    pub token_key: Secret,
    /// Scheduled sync of every link (0 = off).
    pub sync_interval_minutes: u64,
    /// How far back the first sync of an account reaches.
    pub first_sync_days: u32,
    /// How many days before the last synced date a sync starts again.
    pub overlap_days: u32,
    /// A running sync holds a lease of this many seconds, renewed every third of it; a sync
    /// whose process died is retried once its lease runs out.
    pub sync_lease_seconds: u64,
    /// How long `POST /api/v1/bank/sync` waits for the sync (which runs on its own) before it
    /// answers `202` with the sync's record to poll; under the 30 s request timeout.
    pub sync_wait_seconds: u64,
    /// Per-request timeout of calls to the center; a timed-out inquiry is retried (up to 3
    /// times, with backoff), a timed-out code exchange is not.
    pub request_timeout_seconds: u64,
    /// The first characters of every `bank_tran_id`'s 9-character assigned part (1–3
    /// upper-case letters or digits; the counter takes the rest). Installations that share one
    /// institution code (staging and production) must each set a different value, so that
    /// their ids can never collide on the same day.
    pub tran_id_prefix: String,
    /// At most this many transaction-list pages per account and sync (25 rows each): a center
    /// that keeps saying "more" cannot keep a sync running. Between 1 and 1,000,000.
    pub max_pages_per_account: u32,
    /// Start the first sync as soon as a link completes.
    pub sync_on_link: bool,
}

/// How the server protects itself from floods and slow clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// A connection must send a request's headers within this many seconds (for HTTP/1.1 also
    /// the longest a kept-alive connection may sit idle); 1 to 300.
    pub header_read_timeout_seconds: u64,
    /// Open connections at most; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Requests handled at once at most; the next answers 503 `overloaded` with `Retry-After`.
    pub max_in_flight: usize,
    /// Requests to `/api/v1/auth/*` per client address per minute (in memory, per process);
    /// over it, 429 with `Retry-After` before any password hash or database write.
    pub auth_requests_per_minute: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            header_read_timeout_seconds: 10,
            max_connections: 4096,
            max_in_flight: 512,
            auth_requests_per_minute: 120,
        }
    }
}

/// Spending insight.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsightConfig {
    /// A series is recurring only when the standard deviation of its intervals (for monthly
    /// and longer series: of its dates against the calendar schedule) is strictly under this
    /// many days. The original app's 1.1; between 0.1 and 7.
    pub recurring_max_std_days: f64,
}

impl Default for InsightConfig {
    fn default() -> Self {
        InsightConfig {
            recurring_max_std_days: 1.1,
        }
    }
}

impl Default for BankConfig {
    fn default() -> Self {
        BankConfig {
            base_url: None,
            client_id: String::new(),
            client_secret: Secret::default(),
            redirect_uri: String::new(),
            institution_code: String::new(),
            token_key: Secret::default(),
            sync_interval_minutes: 360,
            first_sync_days: 400,
            overlap_days: 3,
            sync_lease_seconds: 60,
            sync_wait_seconds: 20,
            request_timeout_seconds: 10,
            tran_id_prefix: "0".into(),
            max_pages_per_account: 100_000,
            sync_on_link: true,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://data/ginkgo.db".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            auth: AuthConfig::default(),
            deposit: DepositConfig::default(),
            batch: BatchConfig::default(),
            bank: BankConfig::default(),
            insight: InsightConfig::default(),
            limits: LimitsConfig::default(),
            metrics_token: Secret::default(),
            read_cache_ms: 1000,
            unknown_variables: Vec::new(),
            warnings: Vec::new(),
            trust_forwarded_for: false,
            shutdown_drain_seconds: 0,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_secret: Secret::default(),
            access_token_minutes: 15,
            refresh_token_days: 30,
            max_failures_per_account: 10,
            max_failures_per_address: 50,
            secure_cookies: true,
        }
    }
}

impl Default for DepositConfig {
    fn default() -> Self {
        DepositConfig {
            max_amount: 100_000_000,
            expiry_minutes: 10,
        }
    }
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            inbox: None,
            daily_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            enabled: true,
            hold_below_percent: crate::jobs::DEFAULT_HOLD_BELOW_PERCENT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for {name}: {message}")]
    Env { name: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Variables that may instead name a file holding the value (`NAME_FILE`): the secrets, and
/// the database URL (which may carry a password).
const FILE_VARIABLES: &[&str] = &[
    "GINKGO_JWT_SECRET",
    "GINKGO_BANK_TOKEN_KEY",
    "GINKGO_BANK_CLIENT_SECRET",
    "GINKGO_DATABASE_URL",
    "GINKGO_METRICS_TOKEN",
];

/// Words of placeholder values (the documented example's among them): a key that contains one
/// was copied, not generated.
const PLACEHOLDERS: &[&str] = &[
    "change me",
    "changeme",
    "change-me",
    "change_me",
    "random characters",
    "example",
    "placeholder",
    "secret-here",
    "your-secret",
];

/// Why `value` cannot serve as a key (`None` when it can): shorter than 32 characters, a
/// placeholder, or too predictable — fewer than 10 different characters, under 100 bits by
/// the Shannon estimate of its characters (a 32-character random hex key has about 118, a
/// `ginkgo secret generate` key about 200), or made of repeats (fewer different neighbour
/// pairs than half its length).
pub fn weak_secret(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return Some("not set");
    }
    if value.chars().count() < 32 {
        return Some("shorter than 32 characters");
    }
    let lower = value.to_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return Some("a placeholder (the documented example?), not a generated key");
    }
    let mut counts = std::collections::HashMap::<char, usize>::new();
    for c in value.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = value.chars().count() as f64;
    let bits: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2() * n
        })
        .sum();
    // Repetitions and runs ("abcabc…", "0123456789012…") have few different neighbour pairs.
    let chars: Vec<char> = value.chars().collect();
    let pairs: std::collections::HashSet<(char, char)> =
        chars.windows(2).map(|w| (w[0], w[1])).collect();
    if counts.len() < 10 || bits < 100.0 || pairs.len() * 2 < chars.len() - 1 {
        return Some("too predictable (too few different characters)");
    }
    None
}

/// Reads a secret from a file: the whole content without its trailing line end. Warns (into
/// `warnings`) when others may read the file.
fn read_secret_file(
    name: &str,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Env {
        name: name.to_string(),
        message: format!("cannot read {path}: {e}"),
    })?;
    if let Some(w) = readable_by_others(std::path::Path::new(path)) {
        warnings.push(w);
    }
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// A warning when `path` is readable or writable by its group or by others.
#[cfg(unix)]
pub fn readable_by_others(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} holds secrets but its group or others may access it (mode {:o}); run chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

#[cfg(not(unix))]
pub fn readable_by_others(_path: &std::path::Path) -> Option<String> {
    None
}

/// `http://` is only for the center's imitation on this machine: a loopback host.
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Config {
    /// Defaults, overlaid by `file` (when given) and by `GINKGO_…` variables from `env`.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        if let Some(w) = file.and_then(readable_by_others) {
            config.warnings.push(w);
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        for base in FILE_VARIABLES {
            let file_name = format!("{base}_FILE");
            if env.iter().any(|(k, _)| k == base) && env.iter().any(|(k, _)| *k == file_name) {
                return Err(ConfigError::Env {
                    name: file_name,
                    message: format!("set either {base} or {base}_FILE, not both"),
                });
            }
        }
        for (name, value) in env {
            if let Some(base) = name
                .strip_suffix("_FILE")
                .filter(|b| FILE_VARIABLES.contains(b))
            {
                let content = read_secret_file(&name, &value, &mut config.warnings)?;
                config.apply_env(base, &content)?;
                continue;
            }
            let known = config.apply_env(&name, &value)?;
            if !known
                && name.starts_with("GINKGO_")
                && !OTHER_VARIABLES.contains(&name.as_str())
                && !OTHER_PREFIXES.iter().any(|p| name.starts_with(p))
            {
                config.unknown_variables.push(name);
            }
        }
        Ok(config)
    }

    /// Applies one variable; `false` when the name is no setting.
    fn apply_env(&mut self, name: &str, value: &str) -> Result<bool, ConfigError> {
        let bad = |message: String| ConfigError::Env {
            name: name.to_string(),
            message,
        };
        let parse_i64 = |v: &str| v.trim().parse::<i64>().map_err(|e| bad(e.to_string()));
        match name {
            "GINKGO_DATABASE_URL" => self.database_url = value.to_string(),
            "GINKGO_LISTEN" => {
                self.listen = value
                    .trim()
                    .parse()
                    .map_err(|e| bad(format!("{e} (expected an address such as 127.0.0.1:8080)")))?
            }
            "GINKGO_JWT_SECRET" => self.auth.jwt_secret = Secret::new(value),
            "GINKGO_ACCESS_TOKEN_MINUTES" => self.auth.access_token_minutes = parse_i64(value)?,
            "GINKGO_REFRESH_TOKEN_DAYS" => self.auth.refresh_token_days = parse_i64(value)?,
            "GINKGO_SECURE_COOKIES" => {
                self.auth.secure_cookies =
                    parse_bool(value).ok_or_else(|| bad("expected true or false".into()))?
            }
            "GINKGO_DEPOSIT_MAX_AMOUNT" => self.deposit.max_amount = parse_i64(value)?,
            "GINKGO_DEPOSIT_EXPIRY_MINUTES" => self.deposit.expiry_minutes = parse_i64(value)?,
            "GINKGO_BATCH_INBOX" => self.batch.inbox = Some(PathBuf::from(value)),
            "GINKGO_BATCH_DAILY_AT" => self.batch.daily_at = parse_daily_at(value).map_err(bad)?,
            "GINKGO_BATCH_HOLD_BELOW_PERCENT" => {
                self.batch.hold_below_percent = value
                    .trim()
                    .parse()
                    .map_err(|_| bad("expected a whole number of percent, 0 to 100".into()))?
            }
            "GINKGO_BATCH_ENABLED" => {
                self.batch.enabled =
                    parse_bool(value).ok_or_else(|| bad("expected true or false".into()))?
            }
            "GINKGO_BANK_BASE_URL" => {
                self.bank.base_url = Some(value.to_string()).filter(|v| !v.is_empty())
            }
            "GINKGO_BANK_CLIENT_ID" => self.bank.client_id = value.to_string(),
            "GINKGO_BANK_CLIENT_SECRET" => self.bank.client_secret = Secret::new(value),
            "GINKGO_BANK_REDIRECT_URI" => self.bank.redirect_uri = value.to_string(),
            "GINKGO_BANK_INSTITUTION_CODE" => self.bank.institution_code = value.to_string(),
            "GINKGO_BANK_TOKEN_KEY" => self.bank.token_key = Secret::new(value),
            "GINKGO_BANK_SYNC_INTERVAL_MINUTES" => {
                self.bank.sync_interval_minutes =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_BANK_SYNC_LEASE_SECONDS" => {
                self.bank.sync_lease_seconds =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_BANK_REQUEST_TIMEOUT_SECONDS" => {
                self.bank.request_timeout_seconds =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_BANK_TRAN_ID_PREFIX" => self.bank.tran_id_prefix = value.trim().to_string(),
            "GINKGO_BANK_MAX_PAGES_PER_ACCOUNT" => {
                self.bank.max_pages_per_account =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_BANK_SYNC_ON_LINK" => {
                self.bank.sync_on_link =
                    parse_bool(value).ok_or_else(|| bad("expected true or false".into()))?
            }
            "GINKGO_BANK_SYNC_WAIT_SECONDS" => {
                self.bank.sync_wait_seconds =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_INSIGHT_RECURRING_MAX_STD_DAYS" => {
                self.insight.recurring_max_std_days = value
                    .trim()
                    .parse()
                    .map_err(|e| bad(format!("{e} (expected days, such as 1.1)")))?
            }
            "GINKGO_READ_CACHE_MS" => {
                self.read_cache_ms = value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_TRUST_FORWARDED_FOR" => {
                self.trust_forwarded_for =
                    parse_bool(value).ok_or_else(|| bad("expected true or false".into()))?
            }
            "GINKGO_METRICS_TOKEN" => self.metrics_token = Secret::new(value),
            "GINKGO_HEADER_READ_TIMEOUT_SECONDS" => {
                self.limits.header_read_timeout_seconds =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_MAX_CONNECTIONS" => {
                self.limits.max_connections =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_MAX_IN_FLIGHT" => {
                self.limits.max_in_flight = value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_AUTH_REQUESTS_PER_MINUTE" => {
                self.limits.auth_requests_per_minute =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_SHUTDOWN_DRAIN_SECONDS" => {
                self.shutdown_drain_seconds =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_MAX_FAILURES_PER_ACCOUNT" => {
                self.auth.max_failures_per_account =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            "GINKGO_MAX_FAILURES_PER_ADDRESS" => {
                self.auth.max_failures_per_address =
                    value.trim().parse().map_err(|e| bad(format!("{e}")))?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks everything that can be checked before start-up, with one message per problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            problems.push(format!(
                "database_url must start with sqlite:// or postgres:// (got '{}')",
                redact_url(&self.database_url)
            ));
        }
        if let Some(why) = weak_secret(self.auth.jwt_secret.expose()) {
            problems.push(format!(
                "auth.jwt_secret (GINKGO_JWT_SECRET or GINKGO_JWT_SECRET_FILE) is {why}: anyone who knows or guesses it can forge tokens; generate one with `ginkgo secret generate`"
            ));
        }
        if !(1..=24 * 60).contains(&self.auth.access_token_minutes) {
            problems.push("auth.access_token_minutes must be between 1 and 1440".into());
        }
        if !(1..=365).contains(&self.auth.refresh_token_days) {
            problems.push("auth.refresh_token_days must be between 1 and 365".into());
        }
        if self.auth.max_failures_per_account == 0 || self.auth.max_failures_per_address == 0 {
            problems.push("login failure limits must be at least 1".into());
        }
        if !(1..=MAX_DEPOSIT_LIMIT).contains(&self.deposit.max_amount) {
            problems.push(format!(
                "deposit.max_amount must be between 1 and {MAX_DEPOSIT_LIMIT} won"
            ));
        }
        if self.read_cache_ms > 60_000 {
            problems.push("read_cache_ms must be at most 60000 (one minute)".into());
        }
        if self.batch.hold_below_percent > 100 {
            problems.push("batch.hold_below_percent must be between 0 and 100".into());
        }
        if !self.metrics_token.is_empty()
            && let Some(why) = weak_secret(self.metrics_token.expose())
        {
            problems.push(format!(
                "metrics_token (GINKGO_METRICS_TOKEN or GINKGO_METRICS_TOKEN_FILE) is {why}; generate one with `ginkgo secret generate`"
            ));
        }
        let l = &self.limits;
        if !(1..=300).contains(&l.header_read_timeout_seconds) {
            problems.push(
                "limits.header_read_timeout_seconds (GINKGO_HEADER_READ_TIMEOUT_SECONDS) must be between 1 and 300".into(),
            );
        }
        if l.max_connections == 0 || l.max_in_flight == 0 || l.auth_requests_per_minute == 0 {
            problems.push(
                "limits.max_connections, limits.max_in_flight and limits.auth_requests_per_minute must be at least 1".into(),
            );
        }
        if self.shutdown_drain_seconds > 300 {
            problems.push(
                "shutdown_drain_seconds (GINKGO_SHUTDOWN_DRAIN_SECONDS) must be at most 300".into(),
            );
        }
        if !(1..=24 * 60).contains(&self.deposit.expiry_minutes) {
            problems.push("deposit.expiry_minutes must be between 1 and 1440".into());
        }
        let std_days = self.insight.recurring_max_std_days;
        if !(std_days.is_finite() && (0.1..=7.0).contains(&std_days)) {
            problems.push(
                "insight.recurring_max_std_days (GINKGO_INSIGHT_RECURRING_MAX_STD_DAYS) must be between 0.1 and 7 days"
                    .into(),
            );
        }
        if self.bank.sync_wait_seconds > 25 {
            problems.push(
                "bank.sync_wait_seconds (GINKGO_BANK_SYNC_WAIT_SECONDS) must be at most 25 (requests time out after 30 s)"
                    .into(),
            );
        }
        if !(1..=120).contains(&self.bank.request_timeout_seconds) {
            problems.push(
                "bank.request_timeout_seconds (GINKGO_BANK_REQUEST_TIMEOUT_SECONDS) must be between 1 and 120"
                    .into(),
            );
        }
        if !(1..=1_000_000).contains(&self.bank.max_pages_per_account) {
            problems.push(
                "bank.max_pages_per_account (GINKGO_BANK_MAX_PAGES_PER_ACCOUNT) must be between 1 and 1000000"
                    .into(),
            );
        }
        if ginkgo_openbanking::tran_id::validate_tran_id_prefix(&self.bank.tran_id_prefix).is_err()
        {
            problems.push(format!(
                "bank.tran_id_prefix (GINKGO_BANK_TRAN_ID_PREFIX) must be 1 to {} upper-case letters or digits, different for every installation sharing the institution code",
                ginkgo_openbanking::tran_id::MAX_PREFIX
            ));
        }
        if let Some(url) = &self.bank.base_url {
            if !(url.starts_with("https://") || is_loopback_http(url)) {
                problems.push(
                    "bank.base_url must start with https:// (http:// only for a loopback host such as the local sandbox at http://127.0.0.1:9090)"
                        .into(),
                );
            }
            if let Some(why) = weak_secret(self.bank.token_key.expose()) {
                problems.push(format!(
                    "bank.token_key (GINKGO_BANK_TOKEN_KEY or GINKGO_BANK_TOKEN_KEY_FILE) is {why}; generate one with `ginkgo secret generate`"
                ));
            }
            if self.bank.sync_lease_seconds < 3 {
                problems.push(
                    "bank.sync_lease_seconds (GINKGO_BANK_SYNC_LEASE_SECONDS) must be at least 3"
                        .into(),
                );
            }
            if self.bank.redirect_uri.is_empty() || self.bank.client_id.is_empty() {
                problems.push(
                    "bank.redirect_uri and bank.client_id are required when bank linking is on"
                        .into(),
                );
            }
            if self.bank.institution_code.len() != 10 {
                problems
                    .push("bank.institution_code must be the 10-character institution code".into());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems.join("; ")))
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages and logs.
/// The URL with any password hidden, for messages and logs: in the user info
/// (`postgres://user:secret@host/db`) and in the query (`?password=secret`).
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((creds, host)) => match creds.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => base.to_string(),
            },
            None => base.to_string(),
        },
        None => base.to_string(),
    };
    if let Some(q) = query {
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key as strong as a generated one.
    const STRONG: &str = "q7Vd2LxK9pRt4WzB1nHc8Ms3Yf6Gj0Ae5Ku";

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_defaults() {
        let c = Config::load(
            None,
            env(&[
                ("GINKGO_DATABASE_URL", "postgres://u@h/db"),
                ("GINKGO_LISTEN", "0.0.0.0:9000"),
                ("GINKGO_JWT_SECRET", STRONG),
                ("GINKGO_BATCH_DAILY_AT", "07:30"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.database_url, "postgres://u@h/db");
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(
            c.batch.daily_at,
            NaiveTime::from_hms_opt(7, 30, 0).expect("t")
        );
        c.validate().expect("valid");
    }

    #[test]
    fn validation_names_each_problem() {
        let c = Config::load(None, env(&[("GINKGO_DATABASE_URL", "mysql://x")])).expect("loads");
        let msg = c.validate().expect_err("invalid").to_string();
        assert!(msg.contains("database_url"), "{msg}");
        assert!(msg.contains("jwt_secret"), "{msg}");
        let bad = Config::load(None, env(&[("GINKGO_LISTEN", "nowhere")]));
        assert!(bad.expect_err("bad").to_string().contains("GINKGO_LISTEN"));
    }

    #[test]
    fn the_recurring_threshold_and_the_sync_wait_are_configurable_and_checked() {
        let c = Config::load(
            None,
            env(&[
                ("GINKGO_JWT_SECRET", STRONG),
                ("GINKGO_INSIGHT_RECURRING_MAX_STD_DAYS", "0.8"),
                ("GINKGO_BANK_SYNC_WAIT_SECONDS", "5"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.insight.recurring_max_std_days, 0.8);
        assert_eq!(c.bank.sync_wait_seconds, 5);
        c.validate().expect("valid");
        for bad in ["0", "-1", "NaN", "inf", "8"] {
            let c = Config::load(
                None,
                env(&[
                    ("GINKGO_JWT_SECRET", STRONG),
                    ("GINKGO_INSIGHT_RECURRING_MAX_STD_DAYS", bad),
                ]),
            )
            .expect("loads");
            let msg = c.validate().expect_err(bad).to_string();
            assert!(msg.contains("recurring_max_std_days"), "{bad}: {msg}");
        }
        let bad = Config::load(None, env(&[("GINKGO_INSIGHT_RECURRING_MAX_STD_DAYS", "x")]));
        assert!(bad.is_err());
        let c = Config::load(
            None,
            env(&[
                ("GINKGO_JWT_SECRET", STRONG),
                ("GINKGO_BANK_SYNC_WAIT_SECONDS", "30"),
            ]),
        )
        .expect("loads");
        assert!(
            c.validate()
                .expect_err("too long")
                .to_string()
                .contains("sync_wait_seconds")
        );
    }

    #[test]
    fn the_tran_id_prefix_and_the_page_cap_are_checked_at_start_up() {
        let load = |vars: &[(&str, &str)]| {
            let mut all = vec![("GINKGO_JWT_SECRET", STRONG.to_string())];
            all.extend(vars.iter().map(|(k, v)| (*k, v.to_string())));
            Config::load(None, all.into_iter().map(|(k, v)| (k.to_string(), v))).expect("loads")
        };
        let c = load(&[
            ("GINKGO_BANK_TRAN_ID_PREFIX", "S"),
            ("GINKGO_BANK_MAX_PAGES_PER_ACCOUNT", "5000"),
            ("GINKGO_BANK_SYNC_ON_LINK", "false"),
        ]);
        assert_eq!(c.bank.tran_id_prefix, "S");
        assert_eq!(c.bank.max_pages_per_account, 5000);
        assert!(!c.bank.sync_on_link);
        c.validate().expect("valid");
        assert_eq!(Config::default().bank.tran_id_prefix, "0");
        for bad in ["", "s", "ABCD", "P-"] {
            let msg = load(&[("GINKGO_BANK_TRAN_ID_PREFIX", bad)])
                .validate()
                .expect_err(bad)
                .to_string();
            assert!(msg.contains("tran_id_prefix"), "{bad:?}: {msg}");
        }
        let msg = load(&[("GINKGO_BANK_MAX_PAGES_PER_ACCOUNT", "0")])
            .validate()
            .expect_err("no pages")
            .to_string();
        assert!(msg.contains("max_pages_per_account"), "{msg}");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::load(
            None,
            env(&[("GINKGO_JWT_SECRET", "super-secret-value-123456789012345")]),
        )
        .expect("loads");
        assert!(!format!("{c:?}").contains("super-secret"));
        assert_eq!(redact_url("postgres://a:pw@h/db"), "postgres://a:***@h/db");
        assert_eq!(
            redact_url("postgres://a@h/db?sslmode=disable&password=pw"),
            "postgres://a@h/db?sslmode=disable&password=***"
        );
    }

    #[test]
    fn variables_that_name_no_setting_are_reported_not_applied() {
        let c = Config::load(
            None,
            env(&[
                ("GINKGO_DATABSE_URL", "postgres://typo@h/db"),
                ("GINKGO_TEST_POSTGRES_URL", "postgres://u@h/test"),
                ("GINKGO_LOG", "debug"),
                ("GINKGO_MAX_FAILURES_PER_ACCOUNT", "3"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.unknown_variables, vec!["GINKGO_DATABSE_URL".to_string()]);
        assert_eq!(c.auth.max_failures_per_account, 3);
        assert!(c.database_url.starts_with("sqlite:"));
    }

    #[test]
    fn limits_that_could_overflow_or_stall_are_refused() {
        let mut c = Config::default();
        c.auth.jwt_secret = Secret::new(STRONG.to_string());
        c.deposit.max_amount = MAX_DEPOSIT_LIMIT + 1;
        c.read_cache_ms = 3_600_000;
        let msg = c.validate().expect_err("invalid").to_string();
        assert!(msg.contains("deposit.max_amount"), "{msg}");
        assert!(msg.contains("read_cache_ms"), "{msg}");
        c.deposit.max_amount = MAX_DEPOSIT_LIMIT;
        c.read_cache_ms = 1000;
        c.validate().expect("valid at the bounds");
    }

    #[test]
    fn the_documented_example_file_parses_but_its_secret_refuses_to_start() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ginkgo.example.toml");
        let c = Config::load(Some(&path), vec![]).expect("example parses");
        let msg = c.validate().expect_err("the example's key").to_string();
        assert!(msg.contains("auth.jwt_secret"), "{msg}");
        assert!(msg.contains("ginkgo secret generate"), "{msg}");
        let c = Config::load(Some(&path), env(&[("GINKGO_JWT_SECRET", STRONG)])).expect("parses");
        c.validate()
            .expect("the example with a generated key validates");
        assert_eq!(
            c.batch.daily_at,
            NaiveTime::from_hms_opt(9, 0, 0).expect("t")
        );
        assert_eq!(c.insight.recurring_max_std_days, 1.1);
        assert_eq!(c.bank.overlap_days, 3);
    }

    #[test]
    fn the_daily_time_reads_the_same_from_a_file_and_the_environment() {
        let dir = std::env::temp_dir().join(format!("ginkgo-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("ginkgo.toml");
        for (text, want) in [("06:45", (6, 45, 0)), ("06:45:30", (6, 45, 30))] {
            std::fs::write(&path, format!("[batch]\ndaily_at = \"{text}\"\n")).expect("write");
            let from_file = Config::load(Some(&path), vec![]).expect("file");
            let from_env =
                Config::load(None, env(&[("GINKGO_BATCH_DAILY_AT", text)])).expect("env");
            let want = NaiveTime::from_hms_opt(want.0, want.1, want.2).expect("t");
            assert_eq!(from_file.batch.daily_at, want, "{text}");
            assert_eq!(from_env.batch.daily_at, want, "{text}");
        }
        std::fs::write(&path, "[batch]\ndaily_at = \"25:00\"\n").expect("write");
        let err = Config::load(Some(&path), vec![]).expect_err("not a time");
        assert!(err.to_string().contains("HH:MM"), "{err}");
        let err = Config::load(None, env(&[("GINKGO_BATCH_DAILY_AT", "9am")])).expect_err("bad");
        assert!(err.to_string().contains("HH:MM or HH:MM:SS"), "{err}");
    }

    #[test]
    fn weak_keys_are_refused_and_generated_ones_accepted() {
        for weak in [
            "",
            "short",
            &"k".repeat(32),
            &"ab".repeat(20),
            "test-secret-test-secret-test-secret!!",
            "change me: at least 32 random characters",
            "at least 32 random characters, really, 1234567890",
            "0123456789012345678901234567890123456789",
        ] {
            assert!(weak_secret(weak).is_some(), "{weak:?} passes");
        }
        for strong in [
            STRONG,
            "3f9a1c7e5b2d8046af13c9e7b5d2084f",
            &crate::auth::random_token(),
        ] {
            assert_eq!(weak_secret(strong), None, "{strong:?} is refused");
        }
        let mut c = Config::default();
        c.auth.jwt_secret = Secret::new("k".repeat(40));
        let msg = c.validate().expect_err("weak").to_string();
        assert!(msg.contains("too predictable"), "{msg}");
        c.auth.jwt_secret = Secret::new(STRONG);
        c.bank.base_url = Some("https://openapi.openbanking.or.kr".into());
        c.bank.token_key = Secret::new("change-me-change-me-change-me-change-me");
        let msg = c.validate().expect_err("weak token key").to_string();
        assert!(msg.contains("bank.token_key"), "{msg}");
        assert!(
            !msg.contains("change-me"),
            "the message never repeats a secret: {msg}"
        );
    }

    #[test]
    fn plain_http_bank_urls_are_only_for_loopback() {
        let check = |url: &str| {
            let mut c = Config::default();
            c.auth.jwt_secret = Secret::new(STRONG);
            c.bank.base_url = Some(url.to_string());
            c.bank.token_key = Secret::new(STRONG);
            c.bank.client_id = "client".into();
            c.bank.redirect_uri = "https://g.test/api/v1/bank/callback".into();
            c.bank.institution_code = "M202600001".into();
            c.validate().map_err(|e| e.to_string())
        };
        for ok in [
            "https://openapi.openbanking.or.kr",
            "http://127.0.0.1:9090",
            "http://127.8.0.1/",
            "http://localhost:1/x",
            "http://[::1]:8080",
        ] {
            check(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://openapi.openbanking.or.kr",
            "http://127.0.0.1.evil.test:9090",
            "http://10.0.0.1:9090",
            "http://localhost.evil.test",
            "ftp://127.0.0.1",
        ] {
            let msg = check(bad).expect_err(bad);
            assert!(msg.contains("bank.base_url"), "{bad}: {msg}");
        }
    }

    #[cfg(unix)]
    fn write_mode(path: &std::path::Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_read_from_files_and_loose_permissions_warn() {
        let dir = std::env::temp_dir().join(format!("ginkgo-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let key = dir.join("jwt");
        write_mode(&key, &format!("{STRONG}\n"), 0o600);
        let path = key.display().to_string();
        let c = Config::load(None, env(&[("GINKGO_JWT_SECRET_FILE", &path)])).expect("loads");
        assert_eq!(
            c.auth.jwt_secret.expose(),
            STRONG,
            "the line end is not part of it"
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(c.unknown_variables.is_empty());
        c.validate().expect("valid");

        write_mode(&key, STRONG, 0o644);
        let c = Config::load(None, env(&[("GINKGO_JWT_SECRET_FILE", &path)])).expect("loads");
        assert!(
            c.warnings.iter().any(|w| w.contains("chmod 600")),
            "{:?}",
            c.warnings
        );

        let both = Config::load(
            None,
            env(&[
                ("GINKGO_JWT_SECRET_FILE", &path),
                ("GINKGO_JWT_SECRET", STRONG),
            ]),
        );
        assert!(both.expect_err("both").to_string().contains("not both"));
        let missing = dir.join("nothing").display().to_string();
        let err = Config::load(None, env(&[("GINKGO_BANK_TOKEN_KEY_FILE", &missing)]))
            .expect_err("missing file");
        assert!(
            err.to_string().contains("GINKGO_BANK_TOKEN_KEY_FILE"),
            "{err}"
        );

        let file = dir.join("ginkgo.toml");
        write_mode(&file, "[auth]\n", 0o640);
        let c = Config::load(Some(&file), vec![]).expect("loads");
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        write_mode(&file, "[auth]\n", 0o600);
        let c = Config::load(Some(&file), vec![]).expect("loads");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn files_reject_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("ginkgo-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("ginkgo.toml");
        std::fs::write(&path, "database_url = \"sqlite://x.db\"\nlisten_port = 1\n")
            .expect("write");
        let err = Config::load(Some(&path), vec![]).expect_err("unknown key");
        assert!(err.to_string().contains("listen_port"), "{err}");
    }
}
