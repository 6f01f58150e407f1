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
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use motif::ros::{
    msgs::{Float64MultiArray, StringMsg},
    NodeSpec, QosSpec, TransportBuilder,
};

const TEST_NAME: &str = "cyclone_peer_interop";
/// Set in the re-executed child; also lets a caller that already sits in a
/// private namespace skip the re-exec.
const NETNS_ENV: &str = "MOTIF_INTEROP_NETNS";
const REQUIRE_ENV: &str = "MOTIF_REQUIRE_INTEROP";
const SAMPLES_NEEDED: u32 = 10;
const LATCHED_TEXT: &str = r#"["wave","circle"]"#;

fn venv_python(root: &Path) -> Option<PathBuf> {
    let py = root.join(".venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import cyclonedds.domain"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then_some(py)
}

/// Waits for `child` at most `limit`, killing it past that.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn cyclone_peer_interop() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(python) = venv_python(root) else {
        if std::env::var_os(REQUIRE_ENV).is_some() {
            panic!(
                "{REQUIRE_ENV} is set but .venv with cyclonedds is missing: \
                 run scripts/setup_test_env.sh"
            );
        }
        // Straight to the stderr handle: the test harness captures eprintln!,
        // and a silent skip is how an interop regression goes unnoticed.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED {TEST_NAME}: no .venv with cyclonedds. \
             Run scripts/setup_test_env.sh (set {REQUIRE_ENV}=1 to make this a failure). ***\n"
        );
        return;
    };

    if std::env::var_os(NETNS_ENV).is_none() {
        let exe = std::env::current_exe().expect("test executable path");
        let mut child = Command::new("unshare")
            .args(["-n", "--"])
            .arg(exe)
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(NETNS_ENV, "1")
            .spawn()
            .expect("spawn unshare (util-linux); needs root or user namespaces");
        let status = wait_bounded(&mut child, Duration::from_secs(120))
            .expect("interop scenario in the private namespace timed out");
        assert!(status.success(), "interop scenario failed: {status}");
        return;
    }

    run_scenario(root, &python);
}

fn run_scenario(root: &Path, python: &Path) {
    let lo = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("run `ip` (iproute2)");
    assert!(lo.success(), "ip link set lo up failed");

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
    let peer_status = peer_status.or_else(|| wait_bounded(&mut peer, Duration::from_secs(1)));
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
