//! The service's configuration: one clap-derived [`Config`], so `marktrace --help` documents
//! every field. Each value comes from, in order of precedence: the command line, its
//! `MARKTRACE_*` environment variable, the optional `marktrace.toml`, the default. Anything
//! wrong stops start-up with one line that names the field and the problem.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use http::{HeaderName, Uri, header};
use serde::Deserialize;

use ipnet::IpNet;

use crate::app::transparency::check_log_origin;
use crate::app::witness::WitnessEndpoint;
use crate::http::TrustedProxies;
use crate::mark::label::LabelHosts;

#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Configuration file (TOML) with any of the settings below, by their long names with
    /// underscores. A missing file is fine unless named explicitly.
    #[arg(
        long = "config",
        env = "MARKTRACE_CONFIG",
        global = true,
        default_value = "marktrace.toml"
    )]
    pub config_file: PathBuf,

    /// Address and port the HTTP server listens on.
    #[arg(
        long,
        env = "MARKTRACE_LISTEN",
        global = true,
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://PATH` (embedded, created on first start) or
    /// `postgres://USER@HOST/DB` (shared by several nodes).
    #[arg(
        long,
        env = "MARKTRACE_DATABASE_URL",
        global = true,
        default_value = "sqlite://data/marktrace.db"
    )]
    pub database_url: String,

    /// The public base URL of this deployment, without trailing slash; label URLs and the log
    /// origin derive from it.
    #[arg(
        long,
        env = "MARKTRACE_PUBLIC_URL",
        global = true,
        default_value = "http://localhost:8080"
    )]
    pub public_url: String,

    /// Extra hosts (`host` or `host:port`) whose label URLs are the brand's own, beside the
    /// public URL's: for a deployment that moved domain and still has labels with the old one
    /// on shelves. Repeat the flag, or separate hosts with commas. A label URL on any other
    /// host is `altered` (`url_mismatch`) when its token is genuine.
    #[arg(
        long = "label-host",
        env = "MARKTRACE_LABEL_HOSTS",
        global = true,
        value_delimiter = ','
    )]
    pub label_hosts: Vec<String>,

    /// The product information page of a GTIN, which the GS1 Digital Link resolver links as
    /// `gs1:pip` (and uses as the default link): an http(s) URL with `{gtin}` where the
    /// GTIN-14 goes, e.g. `https://shop.example.cn/products/{gtin}`. Unset: no `gs1:pip` link.
    #[arg(long, env = "MARKTRACE_PIP_URL_TEMPLATE", global = true)]
    pub pip_url_template: Option<String>,

    /// Directory of key files (PKCS#8 PEM, mode 0600).
    #[arg(
        long,
        env = "MARKTRACE_KEYS_DIR",
        global = true,
        default_value = "keys"
    )]
    pub keys_dir: PathBuf,

    /// The transparency log's origin line and key name; default: the public URL's host and
    /// path, plus `/log`.
    #[arg(long, env = "MARKTRACE_LOG_ORIGIN", global = true)]
    pub log_origin: Option<String>,

    /// This deployment's name as a witness of its partner brands' logs (C2SP tlog-witness),
    /// the key name of its cosignatures; default: the log origin with `/witness` in place of a
    /// final `/log`.
    #[arg(long, env = "MARKTRACE_WITNESS_NAME", global = true)]
    pub witness_name: Option<String>,

    /// A witness of this log: `VKEY@URL`, its `cosignature/v1` verifier key
    /// (`name+keyid+base64`) and its submission prefix (for a marktrace partner
    /// `https://HOST/api/v1/witness`), which `serve` asks to cosign each new checkpoint; or a
    /// bare `VKEY`, whose cosignatures `log verify --quorum` counts. Repeat the flag, or
    /// separate witnesses with commas.
    #[arg(
        long = "witness",
        env = "MARKTRACE_WITNESSES",
        global = true,
        value_delimiter = ','
    )]
    pub witnesses: Vec<String>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "MARKTRACE_BODY_LIMIT", global = true, default_value_t = 64 * 1024)]
    pub body_limit: usize,

    /// How long a console sign-in lasts, in hours.
    #[arg(
        long,
        env = "MARKTRACE_CONSOLE_SESSION_HOURS",
        global = true,
        default_value_t = 12
    )]
    pub console_session_hours: u32,

    /// Most events one group commit of the log carries.
    #[arg(
        long,
        env = "MARKTRACE_APPEND_BATCH_EVENTS",
        global = true,
        default_value_t = 4096
    )]
    pub append_batch_events: usize,

    /// Microseconds the log writer waits for more appends before committing what it has;
    /// 0 commits at once (concurrent appends still coalesce while a commit is in flight).
    #[arg(
        long,
        env = "MARKTRACE_APPEND_WAIT_US",
        global = true,
        default_value_t = 0
    )]
    pub append_wait_us: u64,

    /// Most marks one batch may hold.
    #[arg(
        long,
        env = "MARKTRACE_MAX_BATCH_MARKS",
        global = true,
        default_value_t = 10_000_000
    )]
    pub max_batch_marks: u64,

    /// Threads that sign marks during an export; 0 means one per CPU core.
    #[arg(
        long,
        env = "MARKTRACE_EXPORT_THREADS",
        global = true,
        default_value_t = 0
    )]
    pub export_threads: usize,

    /// Memory for the signature outcomes of verified tokens, in MiB: about 16,000 tokens a
    /// MiB, so the default keeps the last million or so.
    #[arg(
        long,
        env = "MARKTRACE_VERIFY_CACHE_MIB",
        global = true,
        default_value_t = 64
    )]
    pub verify_cache_mib: u64,

    /// Requests per second one client may make to the public routes (label URLs, verify,
    /// reports, keys, the log, public credit, the OpenAPI document); 0 turns the limit off.
    /// A client is an address: the peer's, or the one a trusted proxy names.
    #[arg(
        long,
        env = "MARKTRACE_PUBLIC_RATE",
        global = true,
        default_value_t = 20
    )]
    pub public_rate: u32,

    /// Marks per second one token holder may verify through `POST /api/v1/verify/batch` (a
    /// bucket holds at least one batch of 1,000); 0 turns the limit off.
    #[arg(
        long,
        env = "MARKTRACE_VERIFY_BATCH_RATE",
        global = true,
        default_value_t = 200
    )]
    pub verify_batch_rate: u32,

    /// Requests one client may burst above its rate.
    #[arg(
        long,
        env = "MARKTRACE_PUBLIC_BURST",
        global = true,
        default_value_t = 60
    )]
    pub public_burst: u32,

    /// The header a trusted proxy names the client in: `X-Forwarded-For` (its rightmost
    /// address that is not itself a trusted proxy) or `X-Real-IP`. Believed only from a peer
    /// in `trusted_proxies`; from any other peer the client is the peer. Unset: the client is
    /// always the peer, which behind a proxy makes every consumer one client.
    #[arg(long, env = "MARKTRACE_TRUSTED_PROXY_HEADER", global = true)]
    pub trusted_proxy_header: Option<String>,

    /// The proxies whose `trusted_proxy_header` is believed: addresses or CIDR blocks
    /// (`10.0.0.0/8`, `2001:db8::/32`), repeated or comma-separated. Only with
    /// `trusted_proxy_header`.
    #[arg(
        long = "trusted-proxies",
        env = "MARKTRACE_TRUSTED_PROXIES",
        global = true,
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

    /// Scans waiting to be written; beyond this, scans are dropped and counted.
    #[arg(
        long,
        env = "MARKTRACE_SCAN_QUEUE",
        global = true,
        default_value_t = 65_536
    )]
    pub scan_queue: usize,

    /// Longest a scan waits before its group commit, in milliseconds: also the loss window
    /// of a hard crash.
    #[arg(
        long,
        env = "MARKTRACE_SCAN_DELAY_MS",
        global = true,
        default_value_t = 50
    )]
    pub scan_delay_ms: u64,

    /// Days a scan is kept before it is purged (Personal Information Protection Law).
    #[arg(
        long,
        env = "MARKTRACE_SCAN_RETENTION_DAYS",
        global = true,
        default_value_t = 365
    )]
    pub scan_retention_days: u32,

    /// Detection: a speed between two scans' regions above this (km/h) is impossible travel.
    #[arg(
        long,
        env = "MARKTRACE_DETECT_SPEED_KMH",
        global = true,
        default_value_t = 300.0
    )]
    pub detect_speed_kmh: f64,

    /// Detection: this many distinct prefecture-level regions within the window is a copy.
    #[arg(
        long,
        env = "MARKTRACE_DETECT_REGIONS",
        global = true,
        default_value_t = 3
    )]
    pub detect_regions: usize,

    /// Detection: the window of the distinct-regions rule, in days.
    #[arg(
        long,
        env = "MARKTRACE_DETECT_WINDOW_DAYS",
        global = true,
        default_value_t = 7
    )]
    pub detect_window_days: i64,

    /// Detection: this many distinct clients scanning one serial is excessive.
    #[arg(
        long,
        env = "MARKTRACE_DETECT_CLIENTS",
        global = true,
        default_value_t = 20
    )]
    pub detect_clients: usize,
}

/// `marktrace.toml`: the same settings, all optional. Unknown keys are refused so a typo
/// cannot silently fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    public_url: Option<String>,
    label_hosts: Option<Vec<String>>,
    pip_url_template: Option<String>,
    keys_dir: Option<PathBuf>,
    log_origin: Option<String>,
    witness_name: Option<String>,
    witnesses: Option<Vec<String>>,
    body_limit: Option<usize>,
    console_session_hours: Option<u32>,
    append_batch_events: Option<usize>,
    append_wait_us: Option<u64>,
    max_batch_marks: Option<u64>,
    export_threads: Option<usize>,
    verify_cache_mib: Option<u64>,
    public_rate: Option<u32>,
    public_burst: Option<u32>,
    verify_batch_rate: Option<u32>,
    trusted_proxy_header: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    scan_queue: Option<usize>,
    scan_delay_ms: Option<u64>,
    scan_retention_days: Option<u32>,
    detect_speed_kmh: Option<f64>,
    detect_regions: Option<usize>,
    detect_window_days: Option<i64>,
    detect_clients: Option<usize>,
}

/// A configuration problem, one line each.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl Config {
    /// Fills in values from the configuration file where neither the command line nor the
    /// environment gave one, then validates the whole.
    pub fn resolve(mut self, matches: &ArgMatches) -> Result<Config, ConfigError> {
        let explicit = |id: &str| {
            !matches!(
                matches.value_source(id),
                None | Some(ValueSource::DefaultValue)
            )
        };
        let file = read_file(&self.config_file, explicit("config_file"))?;
        macro_rules! fill {
            ($($field:ident),*) => {$(
                if let Some(value) = file.$field {
                    if !explicit(stringify!($field)) {
                        self.$field = value.into();
                    }
                }
            )*};
        }
        fill!(
            listen,
            database_url,
            public_url,
            label_hosts,
            keys_dir,
            log_origin,
            witness_name,
            witnesses,
            body_limit,
            console_session_hours
        );
        fill!(append_batch_events, append_wait_us);
        fill!(max_batch_marks, export_threads);
        fill!(
            verify_cache_mib,
            public_rate,
            public_burst,
            verify_batch_rate
        );
        fill!(trusted_proxy_header, trusted_proxies);
        fill!(pip_url_template);
        fill!(scan_queue, scan_delay_ms, scan_retention_days);
        fill!(
            detect_speed_kmh,
            detect_regions,
            detect_window_days,
            detect_clients
        );
        if self.detect_speed_kmh <= 0.0
            || self.detect_regions < 2
            || self.detect_window_days < 1
            || self.detect_clients < 2
        {
            return Err(invalid(
                "detect_speed_kmh",
                "detection thresholds must be positive (at least 2 regions and 2 clients)",
            ));
        }
        if self.scan_queue == 0 || self.scan_retention_days == 0 {
            return Err(invalid(
                "scan_queue",
                "scan_queue and scan_retention_days must be at least 1",
            ));
        }
        if self.max_batch_marks == 0 {
            return Err(invalid("max_batch_marks", "must be at least 1"));
        }
        if !(1..=24 * 31).contains(&self.console_session_hours) {
            return Err(invalid(
                "console_session_hours",
                "must be 1 to 744 (31 days)",
            ));
        }
        self.public_url = validate_public_url(&self.public_url)?;
        self.label_hosts()?;
        if let Some(template) = &self.pip_url_template {
            check_pip_url_template(template)?;
        }
        self.trusted_proxies()?;
        if self.append_batch_events == 0 {
            return Err(invalid("append_batch_events", "must be at least 1"));
        }
        if self.body_limit < 1024 {
            return Err(invalid("body_limit", "must be at least 1024 bytes"));
        }
        // The origin is the checkpoint key's name, so it must be a valid signed-note key name.
        check_log_origin(&self.log_origin()).map_err(|e| invalid("log_origin", &e.to_string()))?;
        check_log_origin(&self.witness_name())
            .map_err(|e| invalid("witness_name", &e.to_string()))?;
        self.witnesses()?;
        Ok(self)
    }

    /// The log origin: configured, or the public URL's host and path plus `/log`.
    pub fn log_origin(&self) -> String {
        match &self.log_origin {
            Some(origin) => origin.clone(),
            None => {
                let without_scheme = self
                    .public_url
                    .split_once("://")
                    .map_or(self.public_url.as_str(), |(_, rest)| rest);
                format!("{without_scheme}/log")
            }
        }
    }

    /// The witness's key name: configured, or the log origin with `/witness` for `/log`.
    pub fn witness_name(&self) -> String {
        self.witness_name.clone().unwrap_or_else(|| {
            let origin = self.log_origin();
            let base = origin.strip_suffix("/log").unwrap_or(&origin);
            format!("{base}/witness")
        })
    }

    /// The witnesses this log asks for cosignatures.
    pub fn witnesses(&self) -> Result<Vec<WitnessEndpoint>, ConfigError> {
        self.witnesses
            .iter()
            .map(|spec| WitnessEndpoint::parse(spec).map_err(|e| invalid("witnesses", &e)))
            .collect()
    }

    /// The hosts label URLs may name: the public URL's host and port, and `label_hosts`.
    pub fn label_hosts(&self) -> Result<LabelHosts, ConfigError> {
        LabelHosts::new(&self.public_url, &self.label_hosts)
            .map_err(|e| invalid("label_hosts", &e.to_string()))
    }

    /// Whose header names a request's client, and which header: none unless both
    /// `trusted_proxy_header` and `trusted_proxies` are set (one without the other is refused).
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        let header = match self.trusted_proxy_header.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => {
                let header = HeaderName::try_from(name).map_err(|_| {
                    invalid(
                        "trusted_proxy_header",
                        &format!("{name:?} is not a header name"),
                    )
                })?;
                // RFC 7239 `Forwarded` is `for=…;proto=…` pairs, not a list of addresses.
                if header == header::FORWARDED {
                    return Err(invalid(
                        "trusted_proxy_header",
                        "Forwarded is not supported; use X-Forwarded-For or X-Real-IP",
                    ));
                }
                Some(header)
            }
        };
        let nets = self
            .trusted_proxies
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .map(|n| {
                n.parse::<IpNet>()
                    .or_else(|_| n.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "trusted_proxies",
                            &format!("{n:?} is not an address or CIDR block"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        match (header, nets.is_empty()) {
            (None, true) => Ok(TrustedProxies::default()),
            (Some(header), false) => Ok(TrustedProxies::new(header, nets)),
            (Some(_), true) => Err(invalid(
                "trusted_proxy_header",
                "needs trusted_proxies: a header believed from any peer lets every client \
                 choose the address it is limited and counted by",
            )),
            (None, false) => Err(invalid(
                "trusted_proxies",
                "needs trusted_proxy_header, the header these proxies name the client in",
            )),
        }
    }

    /// Signing threads for exports: as configured, or one per core.
    pub fn export_threads(&self) -> std::num::NonZeroUsize {
        std::num::NonZeroUsize::new(self.export_threads)
            .or_else(|| std::thread::available_parallelism().ok())
            .unwrap_or(std::num::NonZeroUsize::MIN)
    }

    pub fn thresholds(&self) -> crate::domain::detection::Thresholds {
        crate::domain::detection::Thresholds {
            speed_kmh: self.detect_speed_kmh,
            regions: self.detect_regions,
            window_days: self.detect_window_days,
            clients: self.detect_clients,
        }
    }
}

fn invalid(field: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        field,
        message: message.to_owned(),
    }
}

fn read_file(path: &Path, required: bool) -> Result<FileConfig, ConfigError> {
    let display = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(FileConfig::default());
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: display,
                source,
            });
        }
    };
    toml::from_str(&text).map_err(|e| ConfigError::File {
        path: display,
        message: e.message().to_owned(),
    })
}

/// Accepts `http(s)://host[:port][/path]`, dropping one trailing slash.
fn validate_public_url(raw: &str) -> Result<String, ConfigError> {
    let url = raw.strip_suffix('/').unwrap_or(raw);
    let uri: Uri = url
        .parse()
        .map_err(|_| invalid("public_url", &format!("{raw:?} is not a URL")))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.authority().is_none() || uri.query().is_some() {
        return Err(invalid(
            "public_url",
            &format!("{raw:?} must be http(s)://host[:port][/path] without a query"),
        ));
    }
    Ok(url.to_owned())
}

/// A product page template: an http(s) URL once `{gtin}` is filled in, which it must hold.
fn check_pip_url_template(template: &str) -> Result<(), ConfigError> {
    let refuse = || {
        invalid(
            "pip_url_template",
            &format!("{template:?} must be an http(s) URL with {{gtin}} where the GTIN goes"),
        )
    };
    if !template.contains("{gtin}") {
        return Err(refuse());
    }
    let uri: Uri = template
        .replace("{gtin}", "09506000134352")
        .parse()
        .map_err(|_| refuse())?;
    if matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some() {
        Ok(())
    } else {
        Err(refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[test]
    fn a_product_page_template_is_an_http_url_with_the_gtin_in_it() {
        let load = |template: &str| load(&["marktrace", "--pip-url-template", template]);
        let c = load("https://shop.example.cn/p/{gtin}?src=qr").unwrap();
        assert_eq!(
            c.pip_url_template.as_deref(),
            Some("https://shop.example.cn/p/{gtin}?src=qr")
        );
        for refused in [
            "https://shop.example.cn/p",
            "ftp://x/{gtin}",
            "/p/{gtin}",
            "{gtin}",
        ] {
            let err = load(refused).unwrap_err().to_string();
            assert!(err.contains("pip_url_template"), "{refused}: {err}");
        }
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn load(args: &[&str]) -> Result<Config, ConfigError> {
        let matches = Cli::command().get_matches_from(args);
        Cli::from_arg_matches(&matches)
            .unwrap()
            .config
            .resolve(&matches)
    }

    #[test]
    fn the_file_fills_what_the_command_line_leaves_at_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\npublic_url = \"https://a.example/x/\"\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let c = load(&["m", "--config", path, "--public-url", "https://b.example"]).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.public_url, "https://b.example");
        assert_eq!(c.log_origin(), "b.example/log");
    }

    #[test]
    fn a_typo_in_the_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let err = load(&["m", "--config", file.to_str().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("unknown field `lisen`"), "{err}");
    }

    #[test]
    fn a_named_config_file_must_exist_but_the_default_may_not() {
        assert!(matches!(
            load(&["m", "--config", "/nonexistent/marktrace.toml"]),
            Err(ConfigError::Read { .. })
        ));
        // The crate root, where tests run, has no marktrace.toml.
        assert!(load(&["m"]).is_ok());
    }

    #[test]
    fn label_hosts_come_from_flags_commas_or_the_file() {
        let c = load(&[
            "m",
            "--label-host",
            "a.example",
            "--label-host",
            "b.example:81,c.example",
        ])
        .unwrap();
        assert_eq!(c.label_hosts, ["a.example", "b.example:81", "c.example"]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "label_hosts = [\"old.example.cn\"]\n").unwrap();
        let c = load(&["m", "--config", file.to_str().unwrap()]).unwrap();
        assert_eq!(c.label_hosts, ["old.example.cn"]);
        let err = load(&["m", "--label-host", "https://old.example.cn"]).unwrap_err();
        assert!(err.to_string().starts_with("label_hosts: "), "{err}");
    }

    #[test]
    fn a_proxy_header_is_believed_only_with_the_proxies_that_send_it() {
        let c = load(&[
            "m",
            "--trusted-proxy-header",
            "X-Forwarded-For",
            "--trusted-proxies",
            "10.0.0.0/8,192.0.2.7",
            "--trusted-proxies",
            "2001:db8::/32",
        ])
        .unwrap();
        assert_eq!(
            c.trusted_proxies,
            ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            "trusted_proxy_header = \"X-Real-IP\"\ntrusted_proxies = [\"127.0.0.1\"]\n",
        )
        .unwrap();
        let c = load(&["m", "--config", file.to_str().unwrap()]).unwrap();
        assert_eq!(c.trusted_proxy_header.as_deref(), Some("X-Real-IP"));
        for (args, field) in [
            (
                &["--trusted-proxy-header", "X-Real-IP"][..],
                "trusted_proxy_header",
            ),
            (&["--trusted-proxies", "10.0.0.0/8"][..], "trusted_proxies"),
            (
                &[
                    "--trusted-proxy-header",
                    "X-Real-IP",
                    "--trusted-proxies",
                    "10.0.0.0/33",
                ][..],
                "trusted_proxies",
            ),
            (
                &[
                    "--trusted-proxy-header",
                    "Forwarded",
                    "--trusted-proxies",
                    "10.0.0.1",
                ][..],
                "trusted_proxy_header",
            ),
            (
                &[
                    "--trusted-proxy-header",
                    "X Real",
                    "--trusted-proxies",
                    "10.0.0.1",
                ][..],
                "trusted_proxy_header",
            ),
        ] {
            let err = load(&[&["m"][..], args].concat()).unwrap_err();
            assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
        }
    }

    #[test]
    fn a_log_origin_that_cannot_name_a_key_is_refused() {
        let err = load(&["m", "--log-origin", "marks log"]).unwrap_err();
        assert!(err.to_string().starts_with("log_origin: "), "{err}");
    }

    #[test]
    fn a_public_url_with_a_query_or_no_host_is_refused() {
        for bad in [
            "ftp://x.example",
            "https://x.example/?a=1",
            "not a url",
            "/relative",
        ] {
            let err = load(&["m", "--public-url", bad]).unwrap_err();
            assert!(err.to_string().starts_with("public_url: "), "{err}");
        }
    }
}
