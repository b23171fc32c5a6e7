//! A local AWS Lambda Runtime API (the four endpoints a custom runtime uses) on 127.0.0.1.
//!
//! One measured process is served at a time (a *run*). A run hands out at most `invocations`
//! events; any further `GET .../invocation/next` is held open, unanswered, until the run ends —
//! just as Lambda freezes an idle environment — and its connection is then closed. Every request
//! is timestamped when it has been read completely, in the connection's own thread.

use crate::http::{self, Request};
use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PREFIX: &str = "/2018-06-01/runtime";

/// How a handed-out invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST .../invocation/{id}/response`, with the response body.
    Response(Vec<u8>),
    /// `POST .../invocation/{id}/error`, with the error type and the start of the body.
    Error(String),
}

#[derive(Debug, Clone)]
pub struct Completion {
    pub at: Instant,
    pub outcome: Outcome,
}

/// What the process under measurement did during one run.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// When each served `next` arrived (held ones are not listed).
    pub nexts: Vec<Instant>,
    /// Responses/errors, in the order the invocations were handed out.
    pub completions: Vec<Completion>,
    /// `POST /runtime/init/error`: when, and the start of the body.
    pub init_error: Option<(Instant, String)>,
    issued: Vec<String>,
}

struct Run {
    event: Arc<Vec<u8>>,
    function_arn: String,
    invocations: usize,
}

#[derive(Default)]
struct State {
    generation: u64,
    run: Option<Run>,
    record: Record,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not take the measurement down with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// Why [`RuntimeApi::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every invocation of the run completed (response or error).
    Done,
    /// The function reported an init error.
    InitError,
    /// The process exited on its own.
    Exited,
    /// The deadline passed.
    Timeout,
}

impl RuntimeApi {
    /// Binds a free port on 127.0.0.1 and serves connections, a thread each.
    pub fn start() -> io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accept_shared = shared.clone();
        thread::Builder::new().name("runtime-api".into()).spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accept_shared.clone();
                let _ = thread::Builder::new().name("runtime-api-conn".into()).spawn(move || serve(stream, &shared));
            }
        })?;
        Ok(RuntimeApi { addr, shared })
    }

    /// `127.0.0.1:<port>`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts a run: the next `invocations` calls to `next` get `event`.
    pub fn begin(&self, event: Arc<Vec<u8>>, function_arn: String, invocations: usize) {
        let mut st = self.shared.lock();
        st.generation += 1;
        st.run = Some(Run { event, function_arn, invocations: invocations.max(1) });
        st.record = Record::default();
        self.shared.changed.notify_all();
    }

    /// Waits until the run is done, the function reports an init error, `exited()` says the
    /// process is gone (polled every few milliseconds) or `deadline` passes.
    pub fn wait(&self, deadline: Instant, mut exited: impl FnMut() -> bool) -> (Stop, Record) {
        let mut st = self.shared.lock();
        loop {
            let wanted = st.run.as_ref().map_or(0, |r| r.invocations);
            if st.record.completions.len() >= wanted {
                return (Stop::Done, st.record.clone());
            }
            if st.record.init_error.is_some() {
                return (Stop::InitError, st.record.clone());
            }
            if exited() {
                return (Stop::Exited, st.record.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return (Stop::Timeout, st.record.clone());
            }
            let slice = (deadline - now).min(Duration::from_millis(5));
            st = self.shared.changed.wait_timeout(st, slice).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Ends the run: held `next` calls are dropped and late posts are ignored.
    pub fn end(&self) {
        let mut st = self.shared.lock();
        st.generation += 1;
        st.run = None;
        self.shared.changed.notify_all();
    }
}

enum Reply {
    Send(u16, &'static str, Vec<(&'static str, String)>, Vec<u8>),
    Close,
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        let req = match http::read_request(&mut reader) {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) => {
                let body = format!("{{\"errorMessage\":\"{}\"}}", e.to_string().replace('"', "'"));
                let _ = http::write_response(&mut writer, 400, "Bad Request", &[], body.as_bytes());
                return;
            }
        };
        let at = Instant::now();
        match route(shared, &req, at) {
            Reply::Send(status, reason, headers, body) => {
                if http::write_response(&mut writer, status, reason, &headers, &body).is_err() {
                    return;
                }
            }
            Reply::Close => return,
        }
    }
}

fn accepted() -> Reply {
    Reply::Send(202, "Accepted", Vec::new(), br#"{"status":"OK"}"#.to_vec())
}

fn not_found(what: &str) -> Reply {
    let body = format!("{{\"errorMessage\":\"{what}\",\"errorType\":\"NotFound\"}}");
    Reply::Send(404, "Not Found", Vec::new(), body.into_bytes())
}

fn snippet(req: &Request) -> String {
    let text = String::from_utf8_lossy(&req.body);
    let mut s: String = text.chars().take(300).collect();
    if let Some(kind) = req.header("lambda-runtime-function-error-type") {
        s = format!("{kind}: {s}");
    }
    s
}

fn route(shared: &Shared, req: &Request, at: Instant) -> Reply {
    let Some(rest) = req.path.strip_prefix(PREFIX) else { return not_found("unknown path") };
    let rest = rest.split('?').next().unwrap_or(rest);
    match (req.method.as_str(), rest) {
        ("GET", "/invocation/next") => next(shared, at),
        ("POST", "/init/error") => {
            let mut st = shared.lock();
            if st.run.is_some() && st.record.init_error.is_none() {
                st.record.init_error = Some((at, snippet(req)));
                shared.changed.notify_all();
            }
            accepted()
        }
        ("POST", path) => {
            let Some(rest) = path.strip_prefix("/invocation/") else { return not_found("unknown path") };
            let (id, outcome) = match rest.split_once('/') {
                Some((id, "response")) => (id, Outcome::Response(req.body.clone())),
                Some((id, "error")) => (id, Outcome::Error(snippet(req))),
                _ => return not_found("unknown path"),
            };
            let mut st = shared.lock();
            let Some(index) = st.record.issued.iter().position(|issued| issued == id) else {
                return not_found("unknown request id");
            };
            if index != st.record.completions.len() {
                return Reply::Send(
                    400,
                    "Bad Request",
                    Vec::new(),
                    br#"{"errorType":"InvalidStateTransition"}"#.to_vec(),
                );
            }
            st.record.completions.push(Completion { at, outcome });
            shared.changed.notify_all();
            accepted()
        }
        _ => not_found("unknown path"),
    }
}

fn next(shared: &Shared, at: Instant) -> Reply {
    let mut st = shared.lock();
    let generation = st.generation;
    loop {
        if st.generation != generation {
            return Reply::Close;
        }
        if let Some(run) = &st.run {
            let served = st.record.nexts.len();
            if served < run.invocations {
                let id = format!("c01d5747-0000-4000-8000-{:06x}{:06x}", generation & 0xff_ffff, served);
                let deadline_ms =
                    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() + 900_000;
                let headers = vec![
                    ("lambda-runtime-aws-request-id", id.clone()),
                    ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
                    ("lambda-runtime-invoked-function-arn", run.function_arn.clone()),
                    ("lambda-runtime-trace-id", format!("Root=1-00000000-{:024x};Parent=0;Sampled=0", generation)),
                ];
                let body = run.event.as_ref().clone();
                st.record.nexts.push(at);
                st.record.issued.push(id);
                shared.changed.notify_all();
                return Reply::Send(200, "OK", headers, body);
            }
        }
        // Held: no event for this process (any more). Wait for the run to end.
        st = shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Read, Write};

    fn send(stream: &mut TcpStream, method: &str, path: &str, body: &str) {
        let req = format!("{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        stream.write_all(req.as_bytes()).unwrap();
    }

    /// Status, request id header and body of one response.
    fn receive(r: &mut BufReader<TcpStream>) -> (u16, Option<String>, String) {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let (mut len, mut id) = (0, None);
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().unwrap(),
                "lambda-runtime-aws-request-id" => id = Some(v.trim().to_string()),
                _ => {}
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        (status, id, String::from_utf8(body).unwrap())
    }

    #[test]
    fn serves_one_event_then_holds_next_until_the_run_ends() {
        let api = RuntimeApi::start().unwrap();
        api.begin(Arc::new(br#"{"hello":1}"#.to_vec()), "arn:aws:lambda:eu-central-1:0:function:f".into(), 1);
        let mut conn = TcpStream::connect(api.addr()).unwrap();
        let mut r = BufReader::new(conn.try_clone().unwrap());

        send(&mut conn, "GET", "/2018-06-01/runtime/invocation/next", "");
        let (status, id, body) = receive(&mut r);
        assert_eq!((status, body.as_str()), (200, r#"{"hello":1}"#));
        let id = id.unwrap();

        send(&mut conn, "POST", "/2018-06-01/runtime/invocation/other/response", "{}");
        assert_eq!(receive(&mut r).0, 404);
        send(&mut conn, "POST", &format!("/2018-06-01/runtime/invocation/{id}/response"), "{}");
        assert_eq!(receive(&mut r).0, 202);

        let (stop, record) = api.wait(Instant::now() + Duration::from_secs(5), || false);
        assert_eq!(stop, Stop::Done);
        assert_eq!(record.nexts.len(), 1);
        assert_eq!(record.completions[0].outcome, Outcome::Response(b"{}".to_vec()));
        assert!(record.completions[0].at >= record.nexts[0]);

        // The second `next` is held until the run ends, then the connection closes unanswered.
        send(&mut conn, "GET", "/2018-06-01/runtime/invocation/next", "");
        conn.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut byte = [0u8; 1];
        assert!(r.get_mut().read(&mut byte).is_err(), "held next must not be answered");
        api.end();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(r.get_mut().read(&mut byte).unwrap(), 0);
    }

    #[test]
    fn records_errors_and_init_errors() {
        let api = RuntimeApi::start().unwrap();
        api.begin(Arc::new(b"{}".to_vec()), "arn".into(), 1);
        let mut conn = TcpStream::connect(api.addr()).unwrap();
        let mut r = BufReader::new(conn.try_clone().unwrap());
        send(&mut conn, "POST", "/2018-06-01/runtime/init/error", r#"{"errorMessage":"boom"}"#);
        assert_eq!(receive(&mut r).0, 202);
        let (stop, record) = api.wait(Instant::now() + Duration::from_secs(5), || false);
        assert_eq!(stop, Stop::InitError);
        assert!(record.init_error.unwrap().1.contains("boom"));

        api.begin(Arc::new(b"{}".to_vec()), "arn".into(), 1);
        send(&mut conn, "GET", "/2018-06-01/runtime/invocation/next", "");
        let id = receive(&mut r).1.unwrap();
        send(&mut conn, "POST", &format!("/2018-06-01/runtime/invocation/{id}/error"), r#"{"errorType":"X"}"#);
        assert_eq!(receive(&mut r).0, 202);
        let (stop, record) = api.wait(Instant::now() + Duration::from_secs(5), || false);
        assert_eq!(stop, Stop::Done);
        assert!(matches!(&record.completions[0].outcome, Outcome::Error(e) if e.contains("errorType")));
        api.end();
    }

    #[test]
    fn reports_an_exited_process_and_a_timeout() {
        let api = RuntimeApi::start().unwrap();
        api.begin(Arc::new(b"{}".to_vec()), "arn".into(), 1);
        assert_eq!(api.wait(Instant::now() + Duration::from_secs(5), || true).0, Stop::Exited);
        assert_eq!(api.wait(Instant::now() + Duration::from_millis(20), || false).0, Stop::Timeout);
        api.end();
    }
}
