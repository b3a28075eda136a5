//! `send`: how many sends per second the edge accepts durably (`202`, the job acknowledged by
//! the gateway's send stream), and at what latency, against a same-run baseline of raw
//! JetStream publishes of the same job to the same stream.
//!
//! It starts its own nats-server (`-js`) and redis-server, the edge and one sim worker
//! (in-process, the `wagw-tests` harness), creates and pairs `--sessions` sessions (limits
//! 1000/min and 60000/h, so nothing should be refused), makes an API key with `send`, and then
//! runs three loads at `--concurrency` for `--seconds` each:
//! (a) raw JetStream publish + ack of the job (the baseline), (b) the edge with rate limits
//! on, (c) a second edge with `--send-rate-limits off`. Not a test: run it by hand, e.g.
//!
//! ```text
//! cargo run --release -p wagw-bench --bin send -- --sessions 200 --concurrency 32 --seconds 10
//! ```

mod load;

use async_nats::jetstream;
use bytes::Bytes;
use clap::Parser;
use futures::StreamExt;
use load::{Outcome, RunReport};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use wagw_api::Capability;
use wagw_common::messages::SendMessageV1;
use wagw_common::shard::ShardRef;
use wagw_common::subjects::CommandOp;
use wagw_common::wire::{Command, REQUEST_ID_HEADER};
use wagw_common::{GatewayId, OrganizationId, SessionId};
use wagw_tests::{ORG_A, TestApp, TestOptions, id_of};

const GATEWAY: &str = "gw-a";
const TEXT: &str = "Your order #1042 has shipped and arrives tomorrow.";

/// Send throughput of the edge against raw JetStream.
#[derive(Parser, Debug)]
#[command(name = "send")]
struct Args {
    /// Sim sessions created, paired and sent from (round-robin).
    #[arg(long, default_value_t = 200)]
    sessions: usize,
    /// Requests in flight at once, in every run.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured seconds of each run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value_t = 1)]
    warmup_seconds: u64,
    /// Sessions paired at once while setting up.
    #[arg(long, default_value_t = 16)]
    pairing_concurrency: usize,
}

/// One session to send from, with its job subject for the raw run.
#[derive(Debug, Clone)]
struct Target {
    id: String,
    subject: String,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.sessions > 0 && args.concurrency > 0,
        "nothing to measure"
    );
    let options = TestOptions {
        gateways: vec![GATEWAY.into()],
        jwks: false,
        issuer: None,
        audience: None,
        shards: 16,
        command_timeout_ms: 10_000,
        ..TestOptions::default()
    };
    let app = TestApp::spawn(options.clone()).await;
    let key = app
        .api_key(
            ORG_A,
            &[Capability::Read, Capability::Manage, Capability::Send],
        )
        .await;
    eprintln!("stack up; creating and pairing {} sessions…", args.sessions);
    let targets = Arc::new(pair_sessions(&app, &key, &args).await?);
    let unlimited = app
        .start_edge(&TestOptions {
            send_rate_limits: false,
            ..options
        })
        .await;
    let app = Arc::new(app);
    let (warmup, duration) = (
        Duration::from_secs(args.warmup_seconds),
        Duration::from_secs(args.seconds),
    );
    eprintln!("(a) raw JetStream publish + ack…");
    let raw = raw_run(&app, &targets, &args, warmup, duration).await;
    eprintln!("(b) the edge, rate limits on…");
    let limited = edge_run(
        "edge, limits on",
        &app,
        &app.base_url,
        &key,
        &targets,
        &args,
    )
    .await;
    eprintln!("(c) the edge, WAGW_SEND_RATE_LIMITS=off…");
    let base_url = unlimited.base_url.clone();
    let open = edge_run("edge, limits off", &app, &base_url, &key, &targets, &args).await;
    print_report(&args, &[raw, limited, open]);
    unlimited.stop().await;
    Ok(())
}

/// Creates and pairs the sessions, `--pairing-concurrency` at a time.
async fn pair_sessions(app: &TestApp, key: &str, args: &Args) -> anyhow::Result<Vec<Target>> {
    let gw = GatewayId::parse(GATEWAY)?;
    let create = json!({"label": "bench", "ratePerMin": 1000, "ratePerHour": 60000});
    let rows: Vec<_> = futures::stream::iter(0..args.sessions)
        .map(|i| {
            let phone = format!("62812{:08}", i);
            let create = create.clone();
            async move { app.paired_session_from(key, &create, &phone).await }
        })
        .buffer_unordered(args.pairing_concurrency.max(1))
        .collect()
        .await;
    rows.iter()
        .map(|row| {
            let id = id_of(row);
            let session = SessionId::parse(&id)?;
            let shard = ShardRef::of_session(&gw, &session, app.options.shards);
            let subject = (app.subjects).command(&gw, shard.shard, &session, CommandOp::Send);
            Ok(Target { id, subject })
        })
        .collect()
}

/// (a): the job the edge would publish, straight to the stream, awaiting its ack.
async fn raw_run(
    app: &Arc<TestApp>,
    targets: &Arc<Vec<Target>>,
    args: &Args,
    warmup: Duration,
    duration: Duration,
) -> RunReport {
    let js = jetstream::new(app.nats.clone());
    let org = OrganizationId::parse(ORG_A).expect("a valid organization id");
    let targets = targets.clone();
    load::run(
        "raw JetStream",
        targets.len(),
        args.concurrency,
        warmup,
        duration,
        move |i| {
            let (js, target, org) = (js.clone(), targets[i].clone(), org.clone());
            async move {
                let message_id = ulid::Ulid::generate().to_string();
                let job = Command::SendMessageV1(SendMessageV1 {
                    organization_id: org,
                    message_id: message_id.clone(),
                    to: "6289876543210@s.whatsapp.net".into(),
                    text: TEXT.into(),
                    accepted_at: wagw_common::time::now_ms(),
                });
                let Ok(payload) = serde_json::to_vec(&job) else {
                    return Outcome::Failed;
                };
                let publish = jetstream::message::PublishMessage::build()
                    .payload(Bytes::from(payload))
                    .message_id(&message_id)
                    .header(REQUEST_ID_HEADER, message_id.as_str());
                let acked = async { js.send_publish(target.subject, publish).await?.await };
                match tokio::time::timeout(Duration::from_secs(10), acked).await {
                    Ok(Ok(_)) => Outcome::Accepted,
                    _ => Outcome::Failed,
                }
            }
        },
    )
    .await
}

/// (b) and (c): `POST /sessions/{id}/messages` on the edge at `base_url`.
async fn edge_run(
    name: &'static str,
    app: &Arc<TestApp>,
    base_url: &str,
    key: &str,
    targets: &Arc<Vec<Target>>,
    args: &Args,
) -> RunReport {
    let warmup = Duration::from_secs(args.warmup_seconds);
    let duration = Duration::from_secs(args.seconds);
    let (http, key, targets) = (app.http.clone(), key.to_owned(), targets.clone());
    let base_url = base_url.to_owned();
    let body = json!({"to": "6289876543210", "text": TEXT});
    load::run(
        name,
        targets.len(),
        args.concurrency,
        warmup,
        duration,
        move |i| {
            let url = format!("{base_url}/api/v1/sessions/{}/messages", targets[i].id);
            let request = http.post(url).bearer_auth(&key).json(&body);
            async move {
                match request.send().await.map(|r| r.status().as_u16()) {
                    Ok(202) => Outcome::Accepted,
                    Ok(429) => Outcome::Limited,
                    _ => Outcome::Failed,
                }
            }
        },
    )
    .await
}

fn print_report(args: &Args, runs: &[RunReport]) {
    println!(
        "\nsend: {} sim sessions, concurrency {}, {} s per run ({} s warm-up), one edge + one sim worker, nats-server and redis-server on this machine",
        args.sessions, args.concurrency, args.seconds, args.warmup_seconds
    );
    println!("| run | accepted/s | p50 (ms) | p99 (ms) | accepted | 429 | other failures |");
    println!("|---|---|---|---|---|---|---|");
    for r in runs {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            r.name,
            r.per_second(),
            r.p50_ms,
            r.p99_ms,
            r.accepted,
            r.limited,
            r.failed
        );
    }
    if let [raw, limited, open] = runs {
        let ratio = |r: &RunReport| r.per_second() / raw.per_second().max(f64::EPSILON);
        println!(
            "\nthroughput ratio b/a (limits on / raw) = {:.2}; c/a (limits off / raw) = {:.2}",
            ratio(limited),
            ratio(open)
        );
        println!(
            "p50 latency ratio b/a = {:.1}x; c/a = {:.1}x",
            limited.p50_ms / raw.p50_ms.max(f64::EPSILON),
            open.p50_ms / raw.p50_ms.max(f64::EPSILON)
        );
    }
}
