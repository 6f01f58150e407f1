//! The `motif_demo` binary end to end: a short sequence with a preemption
//! plays, the summary lists the motifs played (including the preempting
//! ones), the plot is a PNG; an unknown motif name fails cleanly.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn demo(args: &[&str], limit: Duration) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_motif_demo"))
        .current_dir(root)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start motif_demo");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("collect motif_demo output");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "motif_demo did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn demo_plays_a_preempted_sequence_and_plots_it() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("demo.png");
    let plot_arg = plot.to_str().unwrap();
    let out = demo(
        &[
            "--sequence",
            "circle wave",
            "--preempt-at",
            "2",
            "--preempt-with",
            "lift reach_right",
            "--plot",
            plot_arg,
            "--max-seconds",
            "30",
        ],
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(out.status.success(), "motif_demo exit {}", out.status);

    let played = stdout
        .lines()
        .find(|l| l.contains("motifs played:"))
        .expect("no `motifs played` line in the summary");
    let order: Vec<&str> = played
        .split_once("motifs played:")
        .unwrap()
        .1
        .split(',')
        .filter_map(|m| m.split_whitespace().next())
        .collect();
    // Preempted at 2 s, still in circle (or its preparation): wave never plays.
    assert_eq!(
        order,
        ["circle", "lift", "reach_right"],
        "motifs played: {played}"
    );
    assert!(stdout.contains("tracking error"), "no tracking summary");
    for name in ["panda_joint1", "panda_joint7"] {
        assert!(stdout.contains(name), "no tracking row for {name}");
    }

    let bytes = std::fs::read(&plot).expect("plot file written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "plot is not a PNG");
    assert!(bytes.len() > 1000, "plot suspiciously small");
}

#[test]
fn demo_rejects_an_unknown_motif_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("never.png");
    let out = demo(
        &[
            "--sequence",
            "circle no_such_motif",
            "--plot",
            plot.to_str().unwrap(),
            "--max-seconds",
            "5",
        ],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("stderr:\n{stderr}");
    assert!(!out.status.success(), "unknown motif accepted");
    assert_eq!(out.status.code(), Some(1), "exit {}", out.status);
    assert!(
        stderr.contains("no_such_motif"),
        "the error does not name the motif"
    );
    assert!(!stderr.contains("panicked"), "panicked instead of an error");
    assert!(!plot.exists(), "a plot was written for a rejected command");
}
