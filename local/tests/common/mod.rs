//! Starts the real `feedback` binary on a free port and talks to it over HTTP.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Lines a host wrote, shared with the task that reads them.
pub type Lines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

pub struct Host {
    pub child: Child,
    pub base: String,
    pub data: PathBuf,
    pub http: reqwest::Client,
}

pub fn temp_data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("feedback-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(feedback_local::host::default_secrets_dir(&dir));
    dir
}

fn region_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/regions/72-tyumen.toml")
}

/// `feedback serve` on a free port with the data directory and extra arguments.
fn serve(data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedback"));
    cmd.arg("serve").arg("--addr").arg("127.0.0.1:0").arg("--data").arg(data).args(args);
    cmd
}

impl Host {
    /// Starts `feedback serve` with the given data directory and extra arguments/env.
    pub async fn start(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Host {
        Self::start_with(data, args, env, None).await
    }

    /// Like `start`, with every line the host writes to stdout and stderr kept in `lines`.
    pub async fn start_capturing(data: &Path, args: &[&str], env: &[(&str, &str)], lines: Lines) -> Host {
        Self::start_with(data, args, env, Some(lines)).await
    }

    async fn start_with(data: &Path, args: &[&str], env: &[(&str, &str)], capture: Option<Lines>) -> Host {
        let mut cmd = serve(data, args);
        cmd.arg("--region-file").arg(region_file()).env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Host::launch(cmd, data, capture).await.0
    }

    /// Starts `feedback serve` in the folder `cwd` with no region file given, and returns the
    /// lines it printed before it listened.
    pub async fn start_in(cwd: &Path, data: &Path) -> (Host, Vec<String>) {
        let mut cmd = serve(data, &[]);
        cmd.current_dir(cwd).env_remove("FEEDBACK_REGION_FILE").env("RUST_LOG", "info").env("NO_COLOR", "1");
        Host::launch(cmd, data, None).await
    }

    async fn launch(mut cmd: Command, data: &Path, capture: Option<Lines>) -> (Host, Vec<String>) {
        let stderr = if capture.is_some() { Stdio::piped() } else { Stdio::inherit() };
        cmd.stdout(Stdio::piped()).stderr(stderr).kill_on_drop(true);
        let mut child = cmd.spawn().expect("start feedback");
        if let (Some(lines), Some(stderr)) = (capture.clone(), child.stderr.take()) {
            let mut stderr = BufReader::new(stderr).lines();
            tokio::spawn(async move {
                while let Ok(Some(line)) = stderr.next_line().await {
                    lines.lock().expect("log lines").push(line);
                }
            });
        }
        let keep = move |line: &str| {
            if let Some(c) = &capture {
                c.lock().expect("log lines").push(line.to_owned());
            }
        };
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut before = Vec::new();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                keep(&line);
                if let Some(url) = line.strip_prefix("feedback: listening on ") {
                    return url.trim().to_owned();
                }
                before.push(line);
            }
            panic!("feedback exited before listening: {before:?}");
        })
        .await
        .expect("feedback did not start within 30 s");
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                keep(&line);
            }
        });
        (Host { child, base, data: data.to_owned(), http: reqwest::Client::new() }, before)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn token(&self, claims: Value) -> String {
        let r = self.http.post(self.url("/v1/dev/tokens")).json(&claims).send().await.expect("dev token");
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.expect("token json")["token"].as_str().expect("token").to_owned()
    }

    pub async fn citizen(&self, sub: &str) -> String {
        self.token(json!({"sub": sub, "roles": ["citizen"], "region": "72", "municipality": "tyumen", "birthdate": "1990-01-01"})).await
    }

    pub async fn official(&self, sub: &str, authority: &str) -> String {
        self.token(json!({"sub": sub, "roles": ["official"], "region": "72", "authority": authority})).await
    }

    pub async fn admin(&self, sub: &str) -> String {
        self.token(json!({"sub": sub, "roles": ["admin", "moderator"], "region": "72"})).await
    }

    pub async fn post_message(&self, token: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.http.post(self.url("/v1/messages")).bearer_auth(token).json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.expect("POST /v1/messages")
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.expect("GET")
    }

    /// Polls a message until its status leaves `submitted`, for at most `within`.
    pub async fn wait_routed(&self, token: &str, id: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m: Value = self.get(token, &format!("/v1/messages/{id}")).await.json().await.expect("json");
            if m["status"] != "submitted" {
                return m;
            }
            assert!(tokio::time::Instant::now() < deadline, "message {id} was not routed within {within:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn kill9(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }
}

pub fn pothole() -> Value {
    json!({"category_id": "dorogi-yamy", "text": "Глубокая яма на проезжей части у дома 15 по улице Республики"})
}
