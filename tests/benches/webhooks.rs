//! Criterion benchmark: webhook deliveries through the local host's deliver path
//! (`Webhooks::deliver` over `HttpTransport` on a WAL database file with synchronous=FULL: read the
//! delivery and its endpoint, sign, POST, write the outcome) to a receiver on 127.0.0.1, a tiny
//! HTTP/1.1 server on tokio that answers 204. In the same run, the baseline: the same signed POST
//! alone, with a client built for each request as the transport does (a new connection each
//! time), and with one kept client (a reused connection). Results: docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use feedback_core::ids::PollId;
use feedback_core::participation::PollKind;
use feedback_core::webhook::{
    signed_headers, Attempted, Destinations, Event, EventType, NewEndpoint, PollData, WebhookDelivery, WebhookStore,
};
use feedback_core::SystemClock;
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use feedback_lambda::{Deps, Settings};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Answers every request on a connection with 204, keeping the connection open.
async fn receiver() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut conn = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match conn.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0u8; length];
                    if conn.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if conn.get_mut().write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn event(n: u64) -> Event {
    let at = chrono::Utc::now();
    let data = PollData {
        poll_id: PollId::new_at(at),
        kind: PollKind::Vote,
        title: format!("Благоустройство двора № {n}"),
        municipalities: vec![],
        opens_at: at,
        closes_at: at + chrono::Duration::days(7),
    };
    Event::about_poll(EventType::PollOpened, data, at)
}

fn deliveries(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let addr = rt.block_on(receiver());
    let url = format!("http://127.0.0.1:{}/hook", addr.port());
    let dir = std::env::temp_dir().join(format!("feedback-bench-webhooks-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let db = Db::open(&dir.join("webhooks.db")).expect("db");
    let settings = Settings { reference_ttl: Duration::from_secs(3600), ..Settings::default() };
    let deps =
        Deps::new(SqliteStore::new(db.clone()), SqliteQueue::new(db, QueueSettings::default()), SystemClock, &settings);
    let webhooks = webhooks::services(&deps, Destinations::PublicAndLocal);
    let transport = webhooks::HttpTransport::new(Destinations::PublicAndLocal);
    let endpoint = NewEndpoint { url: url.clone(), events: vec!["poll.opened".into()], authority_id: None }
        .validate(Destinations::PublicAndLocal, |_| true, chrono::Utc::now())
        .expect("endpoint");
    rt.block_on(deps.store.create_endpoint(&endpoint)).expect("create endpoint");
    let sample = event(0);
    let body = sample.body();

    let mut group = c.benchmark_group("webhook_delivery");
    group.throughput(Throughput::Elements(1));
    group.bench_function("deliver_sqlite_wal_full", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut ids = Vec::with_capacity(iters as usize);
                for n in 0..iters {
                    let delivery = WebhookDelivery::new(event(n), &endpoint.id, chrono::Utc::now());
                    deps.store.create_webhook_delivery(&delivery).await.expect("delivery");
                    ids.push(delivery.id);
                }
                let start = Instant::now();
                for id in &ids {
                    let outcome = webhooks.deliver(&transport, id).await.expect("deliver");
                    assert!(matches!(outcome, Attempted::Delivered), "{outcome:?}");
                }
                start.elapsed()
            })
        })
    });
    let post = |client: reqwest::Client| {
        let (url, body, secret) = (url.clone(), body.clone(), endpoint.secret.clone());
        async move {
            let headers = signed_headers(&secret, "msg_bench", chrono::Utc::now(), &body);
            let mut request = client.post(&url).header("content-type", "application/json").body(body);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let status = request.send().await.expect("post").status();
            assert_eq!(status.as_u16(), 204);
        }
    };
    group.bench_function("bare_post_new_client", |b| {
        b.to_async(&rt).iter(|| {
            let client = reqwest::Client::builder().no_proxy().build().expect("client");
            post(client)
        })
    });
    let kept = reqwest::Client::builder().no_proxy().build().expect("client");
    group.bench_function("bare_post_kept_client", |b| b.to_async(&rt).iter(|| post(kept.clone())));
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = deliveries
}
criterion_main!(benches);
