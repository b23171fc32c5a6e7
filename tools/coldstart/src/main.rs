//! `coldstart`: measures Lambda cold starts on this machine.
//!
//! It serves a local Lambda Runtime API on 127.0.0.1 and, for each target binary, starts a fresh
//! process N times with the environment Lambda would give it, then records
//! - init: exec → first `GET /2018-06-01/runtime/invocation/next`,
//! - first invocation: that `next` → the response (or error) posted for it,
//! - peak RSS: `VmHWM` from /proc/<pid>/status just before the process is killed,
//!
//! and prints median/min/max per binary and the difference/ratio against the hello-world
//! baseline (`tools/hello-lambda`) measured in the same run. Runs are interleaved (round-robin
//! over the binaries) so that drift on the machine spreads over all of them.
//!
//! ```text
//! coldstart --runs 21 --endpoint http://127.0.0.1:5000 --json target/coldstart.json \
//!     target/release/hello-lambda target/release/submit-message ...
//! ```

mod http;
mod moto;
mod report;
mod runtime_api;

use clap::Parser;
use report::{RunResult, Target};
use runtime_api::{Outcome, RuntimeApi, Stop};
use serde_json::json;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REGION: &str = "eu-central-1";

/// The functions this tool knows: the event each gets, and whether init reads SSM.
const FUNCTIONS: &[(&str, &str, bool)] = &[
    ("hello-lambda", "", false),
    ("submit-message", "apigw-get-messages.json", true),
    ("route-messages", "sqs-submitted-batch.json", false),
    ("handle-messages", "apigw-get-authority-messages.json", false),
    ("reference-data", "apigw-get-categories.json", false),
    ("notify", "sqs-notifications-batch.json", true),
    ("escalate-overdue", "scheduler-tick.json", false),
    ("polls", "apigw-get-polls.json", true),
    ("close-polls", "scheduler-close-polls.json", true),
];

#[derive(Parser, Debug)]
#[command(
    version,
    args_override_self = true,
    about = "Measures Lambda cold starts locally (init, first invocation, peak RSS) against a hello-world baseline"
)]
struct Args {
    /// Function binaries (e.g. target/release/submit-message); the file name picks the event.
    #[arg(required = true)]
    binaries: Vec<PathBuf>,
    /// Measured processes per binary.
    #[arg(long, default_value_t = 21)]
    runs: usize,
    /// Unmeasured processes per binary first (page cache, dynamic loader caches).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// AWS endpoint for the functions (moto server, http:// only). The tool first creates the
    /// SSM voter secret, the table and the queues there. Without it the functions get an
    /// unreachable local endpoint, and polls/close-polls (SSM read at init) are skipped.
    #[arg(long)]
    endpoint: Option<String>,
    /// Write every run's raw figures and the summaries to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Directory of the real-shaped events (default: ./events, else the workspace's events/).
    #[arg(long)]
    events: Option<PathBuf>,
    /// Override or add an event: NAME=FILE (FILE relative to the events directory or a path).
    #[arg(long = "event", value_name = "NAME=FILE")]
    event_overrides: Vec<String>,
    /// The baseline binary's name.
    #[arg(long, default_value = "hello-lambda")]
    baseline: String,
    /// Give up on a process after this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Variant: answer the second `next` with the same event and time that warm invocation too
    /// (by default the second `next` is held unanswered, as Lambda would between invocations).
    #[arg(long)]
    warm_invoke: bool,
    /// Keep each function's stdout/stderr of its last run here (default: a temporary directory).
    #[arg(long)]
    log_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coldstart: {e}");
            ExitCode::FAILURE
        }
    }
}

fn events_dir(args: &Args) -> PathBuf {
    if let Some(dir) = &args.events {
        return dir.clone();
    }
    let local = PathBuf::from("events");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn binary_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Loads the event for `name`: an override, the built-in choice, or an error for unknown names.
fn load_event(name: &str, dir: &Path, overrides: &[(String, String)]) -> Result<(String, Vec<u8>), String> {
    let file = match overrides.iter().find(|(n, _)| n == name) {
        Some((_, f)) => f.clone(),
        None => match FUNCTIONS.iter().find(|(n, _, _)| *n == name) {
            Some((_, "", _)) => return Ok(("{}".into(), b"{}".to_vec())),
            Some((_, f, _)) => f.to_string(),
            None => return Err(format!("no event known for {name}: pass --event {name}=FILE")),
        },
    };
    let path = if Path::new(&file).exists() { PathBuf::from(&file) } else { dir.join(&file) };
    let bytes = std::fs::read(&path).map_err(|e| format!("reading event {}: {e}", path.display()))?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| format!("event {} is not JSON: {e}", path.display()))?;
    Ok((file, bytes))
}

fn run(args: &Args) -> Result<(), String> {
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let overrides: Vec<(String, String)> = args
        .event_overrides
        .iter()
        .map(|o| o.split_once('=').map(|(n, f)| (n.to_string(), f.to_string())))
        .collect::<Option<_>>()
        .ok_or("--event takes NAME=FILE")?;
    let dir = events_dir(args);

    // Resources on the endpoint (or placeholders without one).
    let (resources, ssm_ready, mut notes) = match &args.endpoint {
        Some(endpoint) => {
            http::authority(endpoint).map_err(|e| e.to_string())?;
            let prepared = moto::prepare(endpoint, REGION);
            (prepared.resources, prepared.ssm_ready, prepared.notes)
        }
        None => (moto::Resources::placeholders(REGION), false, Vec::new()),
    };
    // Without an endpoint the SDK is pointed at a closed loopback port: the first invocation
    // fails fast and locally instead of reaching out to AWS with dummy credentials.
    let endpoint_url = args.endpoint.clone().unwrap_or_else(|| "http://127.0.0.1:9".into());

    let mut targets = Vec::new();
    let mut events = Vec::new();
    for binary in &args.binaries {
        let name = binary_name(binary);
        let meta = std::fs::metadata(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
        let (event_name, event) = load_event(&name, &dir, &overrides)?;
        let needs_ssm = FUNCTIONS.iter().any(|(n, _, ssm)| *n == name && *ssm);
        let skipped = match (needs_ssm, args.endpoint.is_some(), ssm_ready) {
            (true, false, _) => Some("reads an SSM parameter at init: needs --endpoint (moto)".to_string()),
            (true, true, false) => {
                Some("reads an SSM parameter at init, and creating it on the endpoint failed".into())
            }
            _ => None,
        };
        if let Some(reason) = &skipped {
            notes.push(format!("{name} skipped: {reason}"));
        }
        targets.push(Target {
            name,
            binary: binary.display().to_string(),
            event: event_name,
            size_bytes: meta.len(),
            skipped,
            runs: Vec::new(),
        });
        events.push(Arc::new(event));
    }

    let api = RuntimeApi::start().map_err(|e| format!("starting the Runtime API: {e}"))?;
    let (log_dir, temporary_logs) = match &args.log_dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("coldstart-{}", std::process::id())), true),
    };
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    eprintln!(
        "coldstart: Runtime API on {}, {} binaries × ({} warm-up + {} runs), endpoint {}",
        api.addr(),
        targets.len(),
        args.warmup,
        args.runs,
        args.endpoint.as_deref().unwrap_or("none")
    );

    let function_env = resources.environment(&endpoint_url);
    let rounds = args.warmup + args.runs;
    for round in 0..rounds {
        for (target, event) in targets.iter_mut().zip(&events) {
            if target.skipped.is_some() {
                continue;
            }
            let result = measure(args, &api, target, event.clone(), &function_env, &log_dir)?;
            if round >= args.warmup {
                target.runs.push(result);
            }
        }
        let label = if round < args.warmup { "warm-up" } else { "run" };
        let n = if round < args.warmup { round + 1 } else { round + 1 - args.warmup };
        eprintln!("coldstart: {label} {n} done");
    }
    if temporary_logs {
        let _ = std::fs::remove_dir_all(&log_dir);
    }

    println!("{}", report::render(&targets, &args.baseline, args.warm_invoke));
    for note in &notes {
        println!("note: {note}");
    }
    if let Some(path) = &args.json {
        let meta = json!({
            "runs": args.runs,
            "warmup": args.warmup,
            "endpoint": args.endpoint,
            "warm_invoke": args.warm_invoke,
            "memory_size_mb": 128,
            "region": REGION,
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            "notes": notes,
        });
        let value = report::to_json(&targets, meta, &args.baseline);
        let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("coldstart: raw figures in {}", path.display());
    }
    Ok(())
}

/// What a response says about the function's own outcome: the HTTP status of an API Gateway
/// response, the partial failures of an SQS batch response.
fn describe_response(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(status) = value.get("statusCode").and_then(serde_json::Value::as_u64) {
        return Some(format!("HTTP {status}"));
    }
    let failures = value.get("batchItemFailures")?.as_array()?.len();
    Some(format!("{failures} batch item failures"))
}

/// VmHWM (peak resident set) of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn tail(path: &Path, max: usize) -> Option<String> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let start = text.char_indices().rev().nth(max.saturating_sub(1)).map_or(0, |(i, _)| i);
    Some(text[start..].to_string())
}

fn ms(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64() * 1000.0
}

/// One fresh process: spawn, serve, measure, kill.
fn measure(
    args: &Args,
    api: &RuntimeApi,
    target: &Target,
    event: Arc<Vec<u8>>,
    function_env: &[(&str, String)],
    log_dir: &Path,
) -> Result<RunResult, String> {
    let name = &target.name;
    // Absolute, because the process starts in its own directory (LAMBDA_TASK_ROOT).
    let binary = std::fs::canonicalize(&target.binary).map_err(|e| format!("{}: {e}", target.binary))?;
    let binary = binary.as_path();
    let task_root = binary.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let log_path = log_dir.join(format!("{name}.log"));
    let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let stream = format!(
        "2026/01/01/[$LATEST]{:032x}",
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    );

    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "en_US.UTF-8")
        .env("TZ", ":UTC")
        .env("LAMBDA_TASK_ROOT", task_root)
        .env("AWS_LAMBDA_RUNTIME_API", api.addr().to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", stream)
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("_HANDLER", "bootstrap")
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .envs(function_env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(task_root)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));

    let arn = format!("arn:aws:lambda:{REGION}:123456789012:function:{name}");
    let invocations = if args.warm_invoke { 2 } else { 1 };
    api.begin(event, arn, invocations);
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            api.end();
            return Err(format!("starting {}: {e}", binary.display()));
        }
    };
    let deadline = started + Duration::from_secs(args.timeout);
    let (stop, record) = api.wait(deadline, || matches!(child.try_wait(), Ok(Some(_))));
    let peak = peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    api.end();

    let init_ms = record.nexts.first().map(|&at| ms(started, at));
    let invocation_ms = |i: usize| Some(ms(*record.nexts.get(i)?, record.completions.get(i)?.at));
    let (outcome, detail) = match (stop, record.completions.first()) {
        (Stop::Done | Stop::Timeout | Stop::Exited, Some(first)) => match &first.outcome {
            Outcome::Response(body) => ("response", describe_response(body)),
            Outcome::Error(e) => ("error", Some(e.clone())),
        },
        (Stop::InitError, _) => ("init_error", record.init_error.as_ref().map(|(_, e)| e.clone())),
        (Stop::Exited, _) => ("exited", tail(&log_path, 400)),
        _ => ("timeout", tail(&log_path, 400)),
    };
    Ok(RunResult {
        init_ms,
        first_ms: invocation_ms(0),
        second_ms: if args.warm_invoke { invocation_ms(1) } else { None },
        outcome,
        detail,
        peak_rss_kib: peak,
    })
}
