//! The real `motif_controller` binary against an independent Cyclone DDS
//! peer (`tests/peer/controller_peer.py`) on a private loopback.
//!
//! The peer runs a command script (good commands, bad ones, a 200 kB string,
//! a flood of 10 000 commands, preemptions, speed, stop) and records what it
//! receives; this test then checks the recording against the library and
//! the URDF. Needs `scripts/setup_test_env.sh` (venv at `.venv/`); without it
//! the test skips loudly unless `MOTIF_REQUIRE_INTEROP` is set.

// Joint-indexed loops over several parallel arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

mod common;

use motif::{library::Library, model::run_motif, robot::ArmModel};
use serde_json::Value;

const TEST_NAME: &str = "controller_against_cyclone_peer";
const RATE_HZ: f64 = 500.0;

#[test]
fn controller_against_cyclone_peer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(python) = common::cyclone_python(root, TEST_NAME) else {
        return;
    };
    if common::in_private_netns(TEST_NAME, Duration::from_secs(90)) {
        run_scenario(root, &python);
    }
}

fn run_scenario(root: &Path, python: &Path) {
    let started = Instant::now();
    let library = root.join("models/default");
    let urdf = root.join("urdf/arm.urdf");
    let mut node = Command::new(env!("CARGO_BIN_EXE_motif_controller"))
        .args(["--ros-args", "--params-file"])
        .arg(root.join("config/motif_controller.yaml"))
        .arg("-p")
        .arg(format!("library:={}", library.display()))
        .arg("-p")
        .arg(format!("urdf:={}", urdf.display()))
        .args([
            "-p",
            &format!("loop_rate_hz:={RATE_HZ}"),
            "-p",
            "stop_time:=0.4",
            // The peer plays no robot: start from the rest posture.
            "-p",
            "wait_for_joint_states:=false",
        ])
        .env("ROS_DOMAIN_ID", "0")
        .env("RUST_LOG", "warn,rustdds=off,ros2_client=off")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start motif_controller");
    let node_err = node.stderr.take().unwrap();
    let node_log = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(node_err).lines().map_while(Result::ok) {
            lines.push(line);
        }
        lines
    });

    let out = tempfile::NamedTempFile::new().unwrap();
    let mut peer = Command::new(python)
        .arg(root.join("tests/peer/controller_peer.py"))
        .args(["--timeout", "40", "--domain", "0", "--out"])
        .arg(out.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start Cyclone peer");
    let stdout = peer.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("peer: {line}");
        }
    });
    let peer_status = common::wait_bounded(&mut peer, Duration::from_secs(50));
    let _ = reader.join();

    // Clean shutdown on SIGINT: exit 0 and a timing report.
    unsafe_sigint(node.id());
    let node_status = common::wait_bounded(&mut node, Duration::from_secs(10));
    let log = node_log.join().unwrap_or_default();
    for l in &log {
        eprintln!("node: {l}");
    }
    eprintln!("scenario took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        peer_status.is_some_and(|s| s.success()),
        "peer failed or timed out: {peer_status:?}"
    );
    assert!(
        node_status.is_some_and(|s| s.success()),
        "node did not exit cleanly on SIGINT: {node_status:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("timing:") && l.contains("lateness")),
        "no timing report at shutdown"
    );

    let rec: Value = serde_json::from_str(&std::fs::read_to_string(out.path()).unwrap()).unwrap();
    // The scheduling the loop got (the params file asks for FIFO 50 and
    // locked memory) is in status and on the shutdown line, the same in both.
    let sched = &rec["statuses"].as_array().unwrap().last().unwrap()["timing"]["scheduling"];
    let policy = sched["policy"]
        .as_str()
        .expect("no timing.scheduling.policy in status");
    let line = log.iter().find(|l| l.contains("timing:")).unwrap();
    let reported = line
        .split("; scheduling ")
        .nth(1)
        .expect("no scheduling on the shutdown line");
    assert!(reported.starts_with(policy), "{policy} vs {reported}");
    assert_eq!(
        sched["memory_locked"].as_bool(),
        Some(reported.contains("memory locked"))
    );
    check_recording(root, &rec);
    check_diagnostics(&rec);
}

/// `/diagnostics` as the peer decoded it: about once a second, the loop and
/// motion statuses with their values, and the rejected commands as a WARN.
fn check_diagnostics(rec: &Value) {
    let arrays = rec["diagnostics"].as_array().expect("no diagnostics");
    assert!(arrays.len() >= 5, "{} diagnostics reports", arrays.len());
    let recv: Vec<i64> = arrays.iter().map(|a| a[0].as_i64().unwrap()).collect();
    let mut gaps: Vec<f64> = recv
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 * 1e-9)
        .collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    assert!(
        (0.8..1.25).contains(&median),
        "median gap {median} s: {gaps:?}"
    );
    let stamps: Vec<i64> = arrays.iter().map(|a| a[1].as_i64().unwrap()).collect();
    assert!(
        stamps.windows(2).all(|w| w[1] >= w[0]),
        "stamps go back: {stamps:?}"
    );
    let status = |a: &Value, name: &str| -> Value {
        a[2].as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no `{name}` in {a}"))
            .clone()
    };
    for a in arrays {
        let lp = status(a, "motif_controller: control loop");
        let mo = status(a, "motif_controller: motion");
        for s in [&lp, &mo] {
            assert!(s["level"].as_u64().unwrap() <= 2, "{s}");
            assert_eq!(s["hardware_id"], "panda", "{s}");
        }
        assert_eq!(lp["values"]["rate_hz"], RATE_HZ.to_string(), "{lp}");
        assert!(lp["values"]["lateness_p99_us"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .is_ok());
        assert!(lp["values"]["scheduling"]
            .as_str()
            .is_some_and(|s| s.starts_with("SCHED_")));
        assert!(
            mo["values"]["library"]
                .as_str()
                .unwrap()
                .ends_with("models/default"),
            "{mo}"
        );
    }
    let motion: Vec<Value> = arrays
        .iter()
        .map(|a| status(a, "motif_controller: motion"))
        .collect();
    assert!(
        motion.iter().any(|m| m["level"] == 0
            && m["message"]
                .as_str()
                .unwrap()
                .starts_with("executing circle")),
        "no OK report while circle ran: {motion:?}"
    );
    assert!(
        motion
            .iter()
            .any(|m| m["level"] == 1 && m["message"].as_str().unwrap().contains("rejected")),
        "the rejected commands never showed as a WARN: {motion:?}"
    );
}

fn unsafe_sigint(pid: u32) {
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
}

struct Js {
    ns: i64,
    pos: Vec<f64>,
}

fn check_recording(root: &Path, rec: &Value) {
    let lib = Library::load(&root.join("models/default")).unwrap();
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();

    // Motif list (transient-local).
    let motifs: Vec<&str> = rec["motifs"]
        .as_array()
        .expect("no motif list")
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = lib.network.motifs.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(motifs, want);
    assert!(rec["motifs"][0]["duration_s"].as_f64().unwrap() > 0.0);

    // Joint names from the URDF, in order, on every sample.
    let names: Vec<String> = serde_json::from_value(rec["names"].clone()).unwrap();
    assert_eq!(names.as_slice(), arm.joint_names());
    assert!(
        rec.get("name_errors").is_none(),
        "samples with other joint names"
    );

    let mut js: Vec<Js> = rec["joint_states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Js {
            ns: s[0].as_i64().unwrap(),
            pos: serde_json::from_value(s[1].clone()).unwrap(),
        })
        .collect();
    js.sort_by_key(|s| s.ns);
    js.dedup_by_key(|s| s.ns);
    assert!(js.len() > 1000, "only {} JointState samples", js.len());

    // Rate: JointState by stamps, Float64MultiArray by arrival.
    let span = (js.last().unwrap().ns - js[0].ns) as f64 * 1e-9;
    let js_rate = js.len() as f64 / span;
    let arrays = rec["arrays"].as_array().unwrap();
    let arr_span = (arrays.last().unwrap()[0].as_i64().unwrap() - arrays[0][0].as_i64().unwrap())
        as f64
        * 1e-9;
    let arr_rate = arrays.len() as f64 / arr_span;
    eprintln!(
        "rates: JointState {js_rate:.0} Hz over {span:.1} s, Float64MultiArray {arr_rate:.0} Hz"
    );
    assert!(
        js_rate > 0.6 * RATE_HZ && js_rate < 1.1 * RATE_HZ,
        "JointState rate {js_rate}"
    );
    assert!(
        arr_rate > 0.6 * RATE_HZ && arr_rate < 1.2 * RATE_HZ,
        "Float64MultiArray rate {arr_rate}"
    );
    assert!(arrays
        .iter()
        .all(|a| a[1].as_array().unwrap().len() == names.len()));

    // Velocity and position limits on every pair of consecutive samples,
    // through preparations, preemptions, speed changes and the stop.
    let vmax = arm.velocity_limits();
    let plim = arm.position_limits();
    let mut worst: f64 = 0.0;
    for w in js.windows(2) {
        let dt = (w[1].ns - w[0].ns) as f64 * 1e-9;
        for j in 0..names.len() {
            let q = w[1].pos[j];
            assert!(
                q >= plim[j].0 && q <= plim[j].1,
                "joint {j} at {q} outside its limits"
            );
            let v = (q - w[0].pos[j]).abs() / dt;
            worst = worst.max(v / vmax[j]);
        }
    }
    eprintln!("peak joint speed: {:.1}% of the URDF limit", worst * 100.0);
    assert!(
        worst <= 1.0 + 1e-3,
        "velocity limit exceeded: {:.4} of the limit",
        worst
    );

    let statuses = rec["statuses"].as_array().unwrap();
    // Circle followed the library's own run of it.
    let circle = statuses
        .iter()
        .find(|s| s["phase"] == "executing" && s["motif"] == "circle")
        .expect("circle never executed");
    let start_ns = (circle["phase_started"].as_f64().unwrap() * 1e9) as i64;
    let wave_sent = rec["sent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s[1] == "wave")
        .unwrap()[0]
        .as_i64()
        .unwrap();
    let m = lib.network.motif_index("circle").unwrap();
    let net = &lib.network;
    let (refr, _) = run_motif(net, m, net.motifs[m].x_init.view(), net.motifs[m].steps);
    let dt = f64::from(net.dt);
    let mut compared = 0;
    let mut max_err: f64 = 0.0;
    // From 0.3 s into the motif: the network leaves its initial state with a
    // transient beyond the acceleration limits, which the tracker limits
    // (weighed in tests/published_stream.rs).
    for s in js
        .iter()
        .filter(|s| s.ns > start_ns + 300_000_000 && s.ns < wave_sent - 50_000_000)
    {
        let x = (s.ns - start_ns) as f64 * 1e-9 / dt - 1.0;
        if x < 0.0 || x.ceil() as usize >= refr.nrows() {
            continue;
        }
        let (i, f) = (x.floor() as usize, x - x.floor());
        for j in 0..names.len() {
            let mut a = [refr[[i, j]], refr[[(i + 1).min(refr.nrows() - 1), j]]];
            for v in &mut a {
                *v = net.scaling.offset[j] + net.scaling.scale[j] * *v;
            }
            let y = f64::from(a[0]) + f * f64::from(a[1] - a[0]);
            max_err = max_err.max((s.pos[j] - y).abs());
        }
        compared += 1;
    }
    eprintln!("circle: {compared} samples compared, max deviation {max_err:.2e} rad");
    assert!(compared > 300, "too few circle samples ({compared})");
    assert!(
        max_err < 0.02,
        "circle deviates from the library by {max_err} rad"
    );

    // Bad commands were rejected, each with its reason, and circle went on.
    let rejection = |text: &str| {
        statuses
            .iter()
            .find(|s| s["last_command"]["text"] == text && s["last_command"]["accepted"] == false)
            .cloned()
    };
    let bogus = rejection("circle bogus_motif wave").expect("unknown motif not rejected in status");
    let reason = bogus["last_command"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("bogus_motif") && !reason.contains("circle,"),
        "reason: {reason}"
    );
    assert_eq!(
        bogus["motif"], "circle",
        "rejected command changed the motion"
    );
    assert_eq!(bogus["phase"], "executing");
    for text in [
        "speed 0",
        "speed -2",
        "speed nan",
        "speed 1e300",
        "%%garbage%% !!",
        "stop now please",
    ] {
        assert!(rejection(text).is_some(), "`{text}` not rejected in status");
    }
    assert!(
        statuses.iter().any(|s| s["last_command"]["text"] == "   "
            || s["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("empty command"))),
        "empty command not rejected"
    );
    let rejected = statuses
        .iter()
        .filter_map(|s| s["commands_rejected"].as_u64())
        .max()
        .unwrap();
    eprintln!("commands rejected by the node: {rejected}");
    assert!(
        rejected >= 1000,
        "the flood did not reach the node ({rejected} rejections)"
    );

    // The loop kept its rate through the flood.
    let flood = &rec["flood"];
    let (f0, f1) = (
        flood[0].as_i64().unwrap(),
        flood[1].as_i64().unwrap() + 300_000_000,
    );
    let during = js.iter().filter(|s| s.ns >= f0 && s.ns <= f1).count() as f64;
    let flood_rate = during / ((f1 - f0) as f64 * 1e-9);
    eprintln!("rate during the flood: {flood_rate:.0} Hz");
    assert!(
        flood_rate > 0.6 * RATE_HZ,
        "rate dropped to {flood_rate} Hz during the command flood"
    );
    // Motion untouched by every rejected command: from the first rejection
    // until `wave` was sent, circle runs on (or has finished and holds).
    let bogus_ns = (bogus["stamp"].as_f64().unwrap() * 1e9) as i64;
    let between: Vec<&Value> = statuses
        .iter()
        .filter(|s| {
            let ns = (s["stamp"].as_f64().unwrap() * 1e9) as i64;
            ns >= bogus_ns && ns < wave_sent
        })
        .collect();
    assert!(
        between.len() >= 5,
        "too few status messages during the bad-command phase"
    );
    for s in &between {
        let ok = (s["phase"] == "executing" && s["motif"] == "circle") || s["phase"] == "holding";
        assert!(ok, "bad commands changed the motion: {s}");
    }
    let progress: Vec<f64> = between
        .iter()
        .filter(|s| s["motif"] == "circle")
        .map(|s| s["progress"].as_f64().unwrap())
        .collect();
    assert!(
        progress.windows(2).all(|w| w[1] >= w[0]),
        "circle progress went backwards: {progress:?}"
    );

    // Preemptions happened and the stop ended in holding.
    assert!(statuses
        .iter()
        .any(|s| s["phase"] == "executing" && s["motif"] == "wave"));
    assert!(statuses.iter().any(|s| s["motif"] == "reach_right"));
    assert!(statuses.iter().any(|s| s["phase"] == "stopping"));
    assert_eq!(statuses.last().unwrap()["phase"], "holding");
    assert!(statuses.iter().all(|s| s["stalled"] == false));
}
