//! The `motif_demo` binary end to end: a short sequence with a preemption
//! plays, the summary lists the motifs played (including the preempting
//! ones), the joint and end-effector plots are PNGs and the tip tracks its
//! commanded path; an unknown motif name fails cleanly.

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

    for png in [plot.clone(), dir.path().join("demo_task_space.png")] {
        let bytes = std::fs::read(&png).expect("plot file written");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{png:?} is not a PNG"
        );
        assert!(bytes.len() > 1000, "{png:?} suspiciously small");
    }
    // The tip, from the URDF's forward kinematics, follows the commanded path
    // to within a few centimetres (the simulated arm's lag at the motifs' speed).
    let mm: f64 = stdout
        .lines()
        .find_map(|l| l.split_once("end-effector tracking error: max "))
        .and_then(|(_, v)| v.strip_suffix(" mm"))
        .expect("no end-effector tracking line")
        .parse()
        .unwrap();
    assert!(mm.is_finite() && mm > 0.0 && mm < 50.0, "tip error {mm} mm");
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

/// The scheduling line of the demo's summary: what the loop thread got.
fn scheduling_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.split("; scheduling ").nth(1))
        .unwrap_or_else(|| panic!("no scheduling in the summary:\n{stdout}"))
        .trim()
        .to_string()
}

/// The default params ask for SCHED_FIFO 50 and locked memory. Privileged,
/// the loop gets them; refused (here: rerun as `nobody` without
/// capabilities, as a user without a `limits.conf` entry would be), each
/// refusal is one warning naming the fix, and the demo runs on under normal
/// scheduling and says so.
#[test]
fn realtime_scheduling_is_taken_or_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("demo.png");
    let args = [
        "--sequence",
        "circle",
        "--max-seconds",
        "1.5",
        "--plot",
        plot.to_str().unwrap(),
    ];
    let out = demo(&args, Duration::from_secs(60));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "exit {}\n{stderr}", out.status);
    let got = scheduling_of(&stdout);
    if got.starts_with("SCHED_FIFO priority 50") {
        assert!(!stderr.contains("SCHED_FIFO refused"), "{stderr}");
    } else {
        assert!(
            stderr.contains("realtime_priority 50: SCHED_FIFO refused")
                && stderr.contains("limits.conf"),
            "FIFO not granted ({got}) without a warning:\n{stderr}"
        );
    }

    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let setpriv = Path::new("/usr/bin/setpriv");
    if !root || !setpriv.exists() {
        eprintln!("not root or no setpriv: the unprivileged rerun is the run above");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_motif_demo");
    let drop_to_nobody = [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ];
    let can_run = Command::new(setpriv)
        .args(drop_to_nobody)
        .args(["test", "-x", bin, "-a", "-r"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default/manifest.yaml"))
        .status()
        .is_ok_and(|s| s.success());
    if !can_run {
        eprintln!("`nobody` cannot read this checkout: the unprivileged rerun is skipped");
        return;
    }
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        shared.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let plot = shared.path().join("demo.png");
    let out = Command::new(setpriv)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(drop_to_nobody)
        .arg(bin)
        .args(&args[..4])
        .args(["--plot", plot.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    eprintln!("unprivileged:\n{stdout}\n{stderr}");
    assert!(out.status.success(), "exit {}\n{stderr}", out.status);
    assert!(
        scheduling_of(&stdout).starts_with("SCHED_OTHER (normal), memory not locked"),
        "{stdout}"
    );
    for warning in [
        "realtime_priority 50: SCHED_FIFO refused",
        "rtprio 99",
        "lock_memory:",
        "memlock unlimited",
    ] {
        assert!(stderr.contains(warning), "no `{warning}` in:\n{stderr}");
    }
    assert_eq!(
        stderr.matches("SCHED_FIFO refused").count(),
        1,
        "one warning per refusal"
    );
}
