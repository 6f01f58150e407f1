//! Interop with an independent DDS implementation (Eclipse Cyclone DDS, from
//! PyPI) over a private loopback.
//!
//! The test re-executes itself under `unshare -n` so DDS traffic never leaves
//! a fresh network namespace, brings `lo` up there, then runs our transport
//! in-process against `tests/peer/cyclone_peer.py`.
//!
//! Needs `scripts/setup_test_env.sh` (venv at `.venv/`). Without it the test
//! skips loudly, unless `MOTIF_REQUIRE_INTEROP` is set (CI), where it fails.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

mod common;

use motif::ros::{
    msgs::{Float64MultiArray, StringMsg},
    NodeSpec, QosSpec, TransportBuilder,
};

const TEST_NAME: &str = "cyclone_peer_interop";
const SAMPLES_NEEDED: u32 = 10;
const LATCHED_TEXT: &str = r#"["wave","circle"]"#;

#[test]
fn cyclone_peer_interop() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(python) = common::cyclone_python(root, TEST_NAME) else {
        return;
    };
    if common::in_private_netns(TEST_NAME, Duration::from_secs(120)) {
        run_scenario(root, &python);
    }
}

fn run_scenario(root: &Path, python: &Path) {
    let node = NodeSpec::new("interop_rust").with_domain_id(0);
    let latched_topic = node.resolve_topic("~/motifs").unwrap();
    let mut builder = TransportBuilder::new(node);
    let array_tx = builder
        .publish::<Float64MultiArray>("/echo/array", QosSpec::DEFAULT, 8)
        .unwrap();
    let text_tx = builder
        .publish::<StringMsg>("/echo/text", QosSpec::DEFAULT, 8)
        .unwrap();
    let motifs_tx = builder
        .publish::<StringMsg>("~/motifs", QosSpec::LATCHED, 1)
        .unwrap();
    let reply_rx = builder
        .subscribe::<StringMsg>("/echo/reply", QosSpec::DEFAULT, 64)
        .unwrap();
    let transport = builder.spawn().expect("start transport");
    let stats = transport.stats();

    // Latched sample goes out before the peer exists: it must reach the peer
    // only through transient-local durability.
    motifs_tx.send(StringMsg::new(LATCHED_TEXT)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while stats.snapshot().published < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        stats.snapshot().published,
        1,
        "latched sample not published"
    );

    let mut peer = Command::new(python)
        .arg(root.join("tests/peer/cyclone_peer.py"))
        .args(["--samples", &SAMPLES_NEEDED.to_string()])
        .args([
            "--timeout",
            "30",
            "--domain",
            "0",
            "--latched",
            &latched_topic,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start Cyclone peer");
    let stdout = peer.stdout.take().expect("peer stdout");
    let (line_tx, line_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("peer: {line}");
            let _ = line_tx.send(line);
        }
    });

    let mut replies = Vec::new();
    let mut k = 0u64;
    let deadline = Instant::now() + Duration::from_secs(40);
    let peer_status = loop {
        if let Ok(Some(status)) = peer.try_wait() {
            break Some(status);
        }
        if Instant::now() > deadline || k > 5_000 {
            break None;
        }
        let kf = k as f64;
        let _ = array_tx.try_send(Float64MultiArray::from_slice(&[kf, kf / 2.0, -1.25]));
        let _ = text_tx.try_send(StringMsg::new(format!("motif {k}")));
        while let Ok(m) = reply_rx.try_recv() {
            replies.push(m.data);
        }
        k += 1;
        std::thread::sleep(Duration::from_millis(20));
    };
    let peer_status =
        peer_status.or_else(|| common::wait_bounded(&mut peer, Duration::from_secs(1)));
    let _ = reader.join();
    while let Ok(m) = reply_rx.try_recv() {
        replies.push(m.data);
    }
    let counters = stats.snapshot();
    transport.shutdown().expect("clean transport shutdown");
    eprintln!(
        "rust: sent {k} ticks, counters {counters:?}, {} replies",
        replies.len()
    );

    let summary: serde_json::Value = line_rx
        .try_iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter(|v| v["event"] == "summary")
        .last()
        .expect("peer printed no summary");
    assert!(
        summary["errors"].as_array().is_some_and(|e| e.is_empty()),
        "peer saw malformed samples: {summary}"
    );
    assert!(
        summary["arrays_ok"].as_u64().unwrap_or(0) >= u64::from(SAMPLES_NEEDED),
        "peer got too few Float64MultiArray samples: {summary}"
    );
    assert!(
        summary["texts"].as_u64().unwrap_or(0) >= 1,
        "no String at peer: {summary}"
    );
    assert_eq!(
        summary["latched"], LATCHED_TEXT,
        "late joiner missed latched topic"
    );
    assert!(
        peer_status.is_some_and(|s| s.success()),
        "peer exit {peer_status:?}: {summary}"
    );
    assert!(
        replies.iter().any(|r| r == "hello from cyclone"),
        "Rust side received no String from Cyclone (got {replies:?})"
    );
    assert_eq!(counters.receive_failed, 0);
}
