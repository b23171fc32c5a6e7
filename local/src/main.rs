use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use feedback_local::auth::{dev_key, issue_dev_token, DevTokenRequest, Verifier};
use feedback_local::host::{serve, HostConfig, Platform};
use feedback_local::parse_duration;
use feedback_local::region_file::RegionSource;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "feedback", version, about = "Citizen feedback platform: the local host")]
struct Cli {
    /// How log lines are written: for people, or one JSON object per line (with the spans each
    /// event happened in) for a log collector.
    #[arg(long, global = true, value_enum, env = "FEEDBACK_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum AuthMode {
    /// HS256 tokens issued by this host (the default, for development).
    Dev,
    /// RS256/ES256 tokens of an OpenID Connect provider, checked against its JWKS.
    Oidc,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SeedTarget {
    /// The local host's SQLite database under --data.
    Local,
    /// A stack's DynamoDB table (credentials, region and endpoint from the AWS environment).
    Aws,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API with the embedded store, queue and scheduler.
    Serve {
        #[arg(long, env = "FEEDBACK_ADDR", default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        #[arg(long, env = "FEEDBACK_DATA", default_value = "./data")]
        data: PathBuf,
        /// The secrets folder, kept apart from the data folder: the voter-roll key and the polls'
        /// private ballot keys [default: beside the data folder, `<data>-secrets`]
        #[arg(long, env = "FEEDBACK_SECRETS")]
        secrets: Option<PathBuf>,
        /// The region file, read when the data folder holds no region yet [default:
        /// infra/regions/72-tyumen.toml under the current folder, else its copy built into the binary]
        #[arg(long, env = "FEEDBACK_REGION_FILE")]
        region_file: Option<PathBuf>,
        #[arg(long, env = "FEEDBACK_SCHEDULE_EVERY", default_value = "5s", value_parser = parse_duration)]
        schedule_every: Duration,
        #[arg(long, env = "FEEDBACK_SUBMISSIONS_PER_HOUR", default_value_t = 20)]
        submissions_per_hour: u32,
        #[arg(long, env = "FEEDBACK_COMMENTS_PER_HOUR", default_value_t = 30)]
        comments_per_hour: u32,
        #[arg(long, env = "FEEDBACK_STUCK_AFTER", default_value = "2m", value_parser = parse_duration)]
        stuck_after: Duration,
        /// Connections served at once; further ones wait until one closes.
        #[arg(long, env = "FEEDBACK_MAX_CONNECTIONS", default_value_t = 256)]
        max_connections: usize,
        /// A request not answered within this time gets 503; a connection idle twice as long is closed.
        #[arg(long, env = "FEEDBACK_REQUEST_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
        request_timeout: Duration,
        /// The contact push services are given with every Web Push (VAPID `sub`): `mailto:` or `https:`.
        #[arg(long, env = "FEEDBACK_PUSH_SUBJECT", default_value = "mailto:feedback@localhost")]
        push_subject: String,
        /// Let Web Push reach `http://127.0.0.1` endpoints (development with a local receiver).
        #[arg(long)]
        allow_local_push: bool,
        /// The SMTP server residents' e-mail goes through (`smtp://HOST:PORT`); without it
        /// no e-mail is sent (in-portal notifications are unaffected)
        #[arg(long, env = "FEEDBACK_SMTP_URL")]
        smtp_url: Option<String>,
        /// The sender of residents' e-mail
        #[arg(long, env = "FEEDBACK_MAIL_FROM", default_value = "noreply@localhost")]
        mail_from: String,
        /// Lets webhook endpoints be http://127.0.0.1 or http://localhost, for a receiver on this
        /// machine; without it only https URLs to public addresses are accepted.
        #[arg(long)]
        allow_local_webhooks: bool,
        /// Serves the portal's maps from this tile URL template (`{z}`, `{x}`, `{y}`) instead of
        /// the region file's: a tile server of one's own, or a test fixture on this machine
        #[arg(long, env = "FEEDBACK_TILES_URL", value_parser = parse_tiles_url)]
        tiles_url: Option<String>,
        #[arg(long, value_enum, default_value = "dev")]
        auth: AuthMode,
        #[arg(long, required_if_eq("auth", "oidc"))]
        issuer: Option<String>,
        #[arg(long, required_if_eq("auth", "oidc"))]
        audience: Option<String>,
        /// JWKS file or URL (default: the issuer's /.well-known/jwks.json).
        #[arg(long)]
        jwks: Option<String>,
    },
    /// Print the HTTP route table (method, path, function, access) as JSON.
    Routes,
    /// Print what the code says a stack deploys: routes, functions with their variables, ports and
    /// IAM grants, the table schema, the queues' consumers and the schedules.
    Manifest {
        /// As JSON (what infra/check_template.py reads); otherwise a readable summary.
        #[arg(long)]
        json: bool,
    },
    /// Load a region file's reference data and routing rules into a stack's table (AWS) or a
    /// local data folder. Validates first; running it again changes nothing.
    SeedRegion {
        #[arg(long, value_enum, default_value = "local")]
        target: SeedTarget,
        /// The region file [default: infra/regions/72-tyumen.toml under the current folder, else
        /// its copy built into the binary]
        #[arg(long)]
        region_file: Option<PathBuf>,
        /// The stack's table (AWS target).
        #[arg(long, env = "TABLE_NAME")]
        table: Option<String>,
        /// Create the table first when it does not exist (for local endpoints such as moto).
        #[arg(long)]
        create_table: bool,
        #[arg(long, env = "FEEDBACK_DATA", default_value = "./data")]
        data: PathBuf,
    },
    /// Generate realistic regional activity through the domain services: messages with their
    /// routing, answers, ratings, reopenings and delays, and polls with ballots.
    Seed {
        #[arg(long, default_value_t = 1000)]
        messages: u64,
        #[arg(long, default_value_t = 0)]
        polls: u32,
        /// Spread the activity over this many days up to today.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// The random seed: the same seed gives the same activity.
        #[arg(long, default_value_t = 72)]
        rng_seed: u64,
        #[arg(long, env = "FEEDBACK_DATA", default_value = "./data")]
        data: PathBuf,
        /// The region file, read when the data folder holds no region yet, with the demo model
        /// beside it (`X.demo.toml` for `X.toml`) [default: infra/regions/72-tyumen.toml under the
        /// current folder, else its copy built into the binary]
        #[arg(long, env = "FEEDBACK_REGION_FILE")]
        region_file: Option<PathBuf>,
        /// Only finish a seed stopped while it delivered notifications: deliver what is still
        /// queued in the data folder and flush it, without generating activity again.
        #[arg(long)]
        deliver_queued: bool,
    },
    /// Recount every analytics counter from the stored history and report any difference
    /// (exit status 1 when there is one). Reads the whole store: an offline tool. On AWS it
    /// first counts what the table's stream still holds.
    Reconcile {
        #[arg(long, value_enum, default_value = "local")]
        target: SeedTarget,
        #[arg(long, env = "TABLE_NAME")]
        table: Option<String>,
        /// With --target aws: set every differing counter to its recount (idempotent; a second
        /// run writes nothing), then check again.
        #[arg(long)]
        repair: bool,
        #[arg(long, env = "FEEDBACK_DATA", default_value = "./data")]
        data: PathBuf,
    },
    /// Print a dev token signed with the key under --data.
    Token {
        #[arg(long, env = "FEEDBACK_DATA", default_value = "./data")]
        data: PathBuf,
        #[arg(long)]
        sub: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long, default_value = "72")]
        region: String,
        #[arg(long)]
        municipality: Option<String>,
        #[arg(long)]
        authority: Option<String>,
        #[arg(long)]
        birthdate: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(|| LossyStdout)
        .log_internal_errors(false);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().with_current_span(false).with_span_list(true).init(),
    }
    match cli.command {
        Command::Routes => {
            println!("{}", serde_json::to_string_pretty(&feedback_local::manifest::routes())?);
            Ok(())
        }
        Command::Manifest { json } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&feedback_local::manifest::manifest())?);
            } else {
                print!("{}", feedback_local::manifest::summary());
            }
            Ok(())
        }
        Command::SeedRegion { target, region_file, table, create_table, data } => {
            feedback_local::seed::seed_region(
                match target {
                    SeedTarget::Local => feedback_local::seed::Target::Local(data),
                    SeedTarget::Aws => feedback_local::seed::Target::Aws {
                        table: table.context("--table or TABLE_NAME is required with --target aws")?,
                        create_table,
                    },
                },
                &region_source(region_file),
            )
            .await
        }
        Command::Seed { data, deliver_queued: true, .. } => {
            let delivered = feedback_local::seed::deliver_queued(&data).await?;
            println!("seed: delivered {delivered} queued notifications");
            Ok(())
        }
        Command::Seed { messages, polls, days, rng_seed, data, region_file, deliver_queued: false } => {
            let region_file = region_source(region_file);
            let opts = feedback_local::seed::SeedOptions { data, region_file, messages, polls, days, rng_seed };
            feedback_local::seed::seed_activity(opts).await?;
            Ok(())
        }
        Command::Reconcile { target, table, data, repair } => {
            let target = match target {
                SeedTarget::Local => {
                    anyhow::ensure!(!repair, "--repair is for --target aws: the local host counts in each transaction");
                    feedback_local::reconcile::Target::Local(data)
                }
                SeedTarget::Aws => feedback_local::reconcile::Target::Aws {
                    table: table.context("--table or TABLE_NAME is required with --target aws")?,
                    repair,
                },
            };
            let outcome = feedback_local::reconcile::run(target).await?;
            if !outcome.differences.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Token { data, sub, roles, region, municipality, authority, birthdate } => {
            feedback_local::datadir::prepare(&data)?;
            let key = dev_key(&data)?;
            let req =
                DevTokenRequest { sub, roles, region: Some(region), municipality, authority, birthdate, email: None };
            println!("{}", issue_dev_token(&key, &req)?);
            Ok(())
        }
        Command::Serve {
            addr,
            data,
            secrets,
            region_file,
            schedule_every,
            submissions_per_hour,
            comments_per_hour,
            stuck_after,
            max_connections,
            request_timeout,
            push_subject,
            allow_local_push,
            smtp_url,
            mail_from,
            allow_local_webhooks,
            tiles_url,
            auth,
            issuer,
            audience,
            jwks,
        } => {
            feedback_local::datadir::prepare(&data).with_context(|| format!("preparing {}", data.display()))?;
            let verifier = match auth {
                AuthMode::Dev => Verifier::Dev { key: dev_key(&data)? },
                AuthMode::Oidc => {
                    let issuer = issuer.context("--issuer is required with --auth oidc")?;
                    let audience = audience.context("--audience is required with --auth oidc")?;
                    let jwks =
                        jwks.unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
                    Verifier::oidc(issuer, audience, &jwks).await?
                }
            };
            let config = HostConfig {
                addr,
                secrets_dir: secrets.unwrap_or_else(|| feedback_local::host::default_secrets_dir(&data)),
                data_dir: data,
                region_file: region_source(region_file),
                schedule_every,
                submissions_per_hour,
                comments_per_hour,
                stuck_after,
                visibility: Duration::from_secs(30),
                max_receives: feedback_lambda::functions::MAX_RECEIVE_COUNT,
                max_connections,
                request_timeout,
                push_subject,
                allow_local_push,
                mail: feedback_local::mail::MailConfig { smtp_url, from: mail_from },
                allow_local_webhooks,
                tiles_url,
            };
            let platform = Arc::new(Platform::open(config, verifier).await?);
            let (tx, rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                let _ = tx.send(true);
            });
            let announce = platform.clone();
            serve(platform, rx, move |bound| print_banner(&announce, bound)).await
        }
    }
}

/// The region file given, or the default one; says which.
/// A tile URL template the portal's maps may load: `https`, or `http` on this machine.
fn parse_tiles_url(raw: &str) -> Result<String, String> {
    feedback_core::region::MapSettings::check_tiles_url(raw).map(|()| raw.to_owned())
}

fn region_source(given: Option<PathBuf>) -> RegionSource {
    let source = RegionSource::resolve(given);
    tracing::info!(region_file = %source, "region file");
    source
}

/// Standard output for the log that ignores write failures: a full disk or a closed pipe loses
/// log lines but never stops the host (the fmt layer would otherwise report the failure on
/// stderr with `eprintln!`, which panics when stderr fails too).
struct LossyStdout;

impl std::io::Write for LossyStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::Write::write_all(&mut std::io::stdout(), buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::Write::flush(&mut std::io::stdout());
        Ok(())
    }
}

/// Prints a line of the `serve` banner; unlike `println!`, a failing stdout is ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

fn print_banner(p: &Platform, addr: SocketAddr) {
    say!("feedback: listening on http://{addr}");
    let Some(key) = &p.dev_key else {
        say!("feedback: production auth (OIDC); dev tokens are disabled");
        return;
    };
    let region = "72".to_owned();
    let token = |sub: &str, roles: &[&str], municipality: Option<&str>, authority: Option<&str>| {
        let req = DevTokenRequest {
            sub: sub.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            region: Some(region.clone()),
            municipality: municipality.map(str::to_owned),
            authority: authority.map(str::to_owned),
            birthdate: Some("1990-01-01".into()),
            email: None,
        };
        issue_dev_token(key, &req).unwrap_or_default()
    };
    say!("================================================================");
    say!("  DEV MODE: tokens are issued by this host. Do not expose it.");
    say!("  POST http://{addr}/v1/dev/tokens issues more.");
    say!("================================================================");
    say!("citizen token:  {}", token("citizen-1", &["citizen"], Some("tyumen"), None));
    say!("official token: {}", token("official-1", &["official"], None, Some("adm-tyumen")));
    say!("admin token:    {}", token("admin-1", &["admin", "moderator"], None, None));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
