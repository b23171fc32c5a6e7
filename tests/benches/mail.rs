//! Criterion benchmarks of residents' e-mail deliveries through the local host's path, against a
//! minimal SMTP server on a loopback port that accepts every mail: the baseline is the SMTP
//! exchange alone (`feedback-mail`'s transport, a new connection per mail, as the local host
//! sends); the delivery adds planning, the claim, the rendering and recording the outcome on a
//! SQLite file in WAL mode with synchronous=FULL. Results: docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion};
use feedback_core::delivery::{
    Address, Audience, Channel, Contact, Delivery, DeliveryStore, Outgoing, Payload, Transport,
};
use feedback_core::dispatch::{Attempted, Deliveries, DeliverySettings};
use feedback_core::ids::{CitizenId, MessageId};
use feedback_core::notification::{Notification, NotificationKind};
use feedback_core::service::Reference;
use feedback_core::{RegionData, SystemClock};
use feedback_embedded::{Db, SqliteStore};
use feedback_mail::{Sender, SmtpMail};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

fn region() -> RegionData {
    feedback_local::region_file::parse(include_str!("../../infra/regions/72-tyumen.toml")).expect("region file")
}

/// Serves one SMTP session: every command is accepted, the data is read and dropped.
async fn session(stream: TcpStream) -> std::io::Result<()> {
    // Replies go out at once, as a mail server's do (no delayed-ACK stall between commands).
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut in_data = false;
    while let Some(line) = lines.next_line().await? {
        if in_data {
            if line == "." {
                in_data = false;
                write.write_all(b"250 2.0.0 queued\r\n").await?;
            }
            continue;
        }
        let command = line.get(..4).unwrap_or(&line).to_ascii_uppercase();
        let reply: &[u8] = match command.as_str() {
            "EHLO" => b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "DATA" => {
                in_data = true;
                b"354 end with .\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 OK\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

/// A loopback SMTP server that accepts every mail; its URL.
async fn smtp_sink() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(session(stream));
        }
    });
    format!("smtp://127.0.0.1:{port}")
}

fn notification(n: u64, citizen: &CitizenId) -> Notification {
    let now = chrono::Utc::now();
    Notification {
        id: format!("bench-{n}"),
        citizen: citizen.clone(),
        message_id: MessageId::new_at(now),
        message_number: None,
        kind: NotificationKind::Answered,
        at: now,
        text: "Администрация города Тюмени ответила на ваше сообщение. Оцените ответ.".into(),
        expires_at: None,
        read_at: None,
    }
}

fn mail(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let url = rt.block_on(smtp_sink());
    let from = Sender::parse("noreply@feedback.example").expect("sender");
    let smtp = SmtpMail::new(&url, from, Duration::from_secs(10)).expect("smtp");
    let dir = std::env::temp_dir().join(format!("feedback-bench-mail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let store = SqliteStore::new(Db::open(&dir.join("bench.db")).expect("db"));
    let reference = Arc::new(Reference::new(store.clone(), Duration::from_secs(3600)));
    rt.block_on(reference.seed(&region())).expect("seed");
    let resident = CitizenId::parse("bench-resident").expect("id");
    let address = Address::new("resident@feedback.example");
    let contact = Contact::refreshed(None, Channel::Email, &address, chrono::Utc::now());
    rt.block_on(store.put_contact(&resident, &contact)).expect("contact");
    let settings = DeliverySettings {
        channels: vec![Channel::Email],
        portal_url: "http://127.0.0.1:3000".into(),
        api_url: "http://127.0.0.1:3000".into(),
        unsubscribe_secret: Arc::from(vec![7u8; 32]),
    };
    let deliveries = Deliveries::new(store.clone(), SystemClock, reference, settings);
    let content =
        Outgoing::for_transition(&notification(0, &resident), Audience::Author, "http://127.0.0.1:3000", None);

    let mut group = c.benchmark_group("mail");
    group.bench_function("smtp_send_only", |b| {
        b.to_async(&rt).iter(|| async { smtp.send(&address, &content).await.expect("sent") })
    });
    let mut n = 0u64;
    group.bench_function("delivery_sqlite_wal_full_smtp", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let note = notification(n, &resident);
            let payload = Payload::Transition { notification: note.clone(), audience: Audience::Author };
            let planned = Delivery::planned(&note.id, Channel::Email, &resident, payload, note.at);
            let (store, deliveries, smtp) = (&store, &deliveries, &smtp);
            async move {
                assert!(store.plan_delivery(&planned).await.expect("planned"));
                assert_eq!(deliveries.attempt(&planned.id, smtp).await.expect("attempt"), Attempted::Sent);
            }
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, mail);
criterion_main!(benches);
