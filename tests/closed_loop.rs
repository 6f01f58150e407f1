//! Closed loop over DDS: the real `motif_controller` drives the real
//! `sim_arm` (rigid-body physics of `urdf/arm.urdf`) on a private loopback,
//! through a sequence of four motifs that is preempted mid-motif by a new
//! list. The test itself is a third DDS participant: it sends the commands on
//! `/motif_controller/sequence`, and records the commanded stream
//! (`/forward_position_controller/commands`, which `sim_arm` follows, plus the
//! same ticks stamped on `/motif_controller/joint_commands`), the measured
//! stream (`/joint_states` from `sim_arm`) and `/motif_controller/status`.
//!
//! `sim_arm` starts ≥ 0.5 rad from the controller's rest posture in four
//! joints. Checks: enough samples on every stream; the measured joint names
//! are the URDF's; measured positions never leave the URDF position limits;
//! the first command is the measured posture (bumpless start); the commanded
//! stream's finite differences at the loop period stay within the velocity,
//! acceleration and jerk limits; the measured joints track the commands
//! (per-joint RMS and max error, bounds justified at `RMS_BOUND`); the
//! preemption replaced the queue.
//!
//! Re-executes itself under `unshare -n` (as tests/sim_arm_node.rs does) so no
//! DDS traffic leaves a fresh network namespace.

// Joint-indexed loops over several parallel arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use motif::control::{JointLimits, LimitMeter};
use motif::robot::{ArmModel, JointLimitsFile};
use motif::ros::msgs::{Float64MultiArray, JointState, StringMsg, Time};
use motif::ros::{NodeSpec, QosSpec, TransportBuilder};
use serde_json::Value;

const TEST_NAME: &str = "closed_loop_controller_drives_sim_arm_over_dds";

const LOOP_RATE_HZ: f64 = 500.0;
/// Where `sim_arm` starts: ≥ 0.5 rad from the controller's rest posture in
/// joints 1–4, so a start that ignored the measured state would jump.
const FAR_START: [f64; 7] = [0.5, -0.2, -0.5, -1.7, 0.0, 1.9, 0.8];
const SIM_RATE_HZ: f64 = 1000.0;
const JS_RATE_HZ: f64 = 200.0;

/// Four motifs, then (mid-`wave`) a new list that replaces the rest of the queue.
const FIRST: &str = "circle wave reach_left figure_eight";
const PREEMPT: &str = "lift square reach_right";
/// What must execute, in order: `reach_left` and `figure_eight` are preempted.
const EXPECTED_PLAYED: [&str; 5] = ["circle", "wave", "lift", "square", "reach_right"];

/// Tracking bounds, per joint, measured `/joint_states` vs the command in
/// force at the measured stamp.
///
/// Basis: the in-process demo (`motif_demo`: same controller loop, same
/// physics, no transport) measures per-joint RMS 0.003–0.017 rad and max
/// ≈ 0.05 rad; that is the PD servo's own lag and the preparations' fast
/// segments. DDS adds the transport latency δ between a tick and the
/// physics seeing it (a few ms on loopback; up to ≈ 10–20 ms when the two
/// shared cores are busy) plus the `/joint_states` period (5 ms at 200 Hz)
/// of stamp quantisation. Joint speeds are capped at 0.95 × the URDF limits
/// (≤ 2.6 rad/s on the wrist, ≤ 2.175 rad/s on joints 1–4); the motifs mostly
/// move at ≲ 1 rad/s. An extra error of v·δ is then ≈ 0.01–0.02 rad on
/// average, ≤ 2.6 rad/s × 0.05 s ≈ 0.13 rad in the worst instant (a 50 ms
/// scheduling hiccup at top speed). Hence RMS < 0.05 rad (≈ 3× the demo's
/// worst joint, and still < 3° — a real tracking fault, e.g. the arm not
/// following or a wrong joint order, gives tenths of a radian) and
/// max < 0.2 rad (demo max 0.05 + 0.13 latency worst case, rounded up).
const RMS_BOUND: f64 = 0.05;
const MAX_BOUND: f64 = 0.2;

#[test]
fn closed_loop_controller_drives_sim_arm_over_dds() {
    if common::in_private_netns(TEST_NAME, Duration::from_secs(60)) {
        run_scenario(Path::new(env!("CARGO_MANIFEST_DIR")));
    }
}

/// Collect a child's stderr lines on a thread.
fn log_lines(child: &mut Child) -> JoinHandle<Vec<String>> {
    let err = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || BufReader::new(err).lines().map_while(Result::ok).collect())
}

fn stamp_ns(t: &Time) -> i64 {
    i64::from(t.sec) * 1_000_000_000 + i64::from(t.nanosec)
}

fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn sigint(pid: u32) {
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
}

struct Stamped {
    ns: i64,
    pos: Vec<f64>,
}

fn run_scenario(root: &Path) {
    let started = Instant::now();

    let urdf = root.join("urdf/arm.urdf");
    let arm = ArmModel::from_urdf_file(&urdf).expect("URDF loads");
    let names = arm.joint_names().to_vec();
    let dof = names.len();

    // The test's own participant first, so it sees the nodes' first samples.
    let mut builder = TransportBuilder::new(NodeSpec::new("closed_loop_test").with_domain_id(0));
    let seq_tx = builder
        .publish::<StringMsg>("/motif_controller/sequence", QosSpec::DEFAULT, 8)
        .unwrap();
    let cmd_rx = builder
        .subscribe::<Float64MultiArray>(
            "/forward_position_controller/commands",
            QosSpec::DEFAULT,
            8192,
        )
        .unwrap();
    let jc_rx = builder
        .subscribe::<JointState>("/motif_controller/joint_commands", QosSpec::DEFAULT, 8192)
        .unwrap();
    let js_rx = builder
        .subscribe::<JointState>("/joint_states", QosSpec::DEFAULT, 4096)
        .unwrap();
    let status_rx = builder
        .subscribe::<StringMsg>("/motif_controller/status", QosSpec::DEFAULT, 256)
        .unwrap();
    let transport = builder.spawn().expect("start the test's transport");

    let mut sim = Command::new(env!("CARGO_BIN_EXE_sim_arm"))
        .current_dir(root)
        .arg("--urdf")
        .arg(&urdf)
        .args([
            "--rate",
            &SIM_RATE_HZ.to_string(),
            "--publish-rate",
            &JS_RATE_HZ.to_string(),
            "--initial-positions",
            &FAR_START.map(|q| q.to_string()).join(","),
        ])
        .env("ROS_DOMAIN_ID", "0")
        .env("RUST_LOG", "warn,rustdds=off,ros2_client=off,sim_arm=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sim_arm");
    let sim_log = log_lines(&mut sim);
    let mut ctl = Command::new(env!("CARGO_BIN_EXE_motif_controller"))
        .current_dir(root)
        .args(["--ros-args", "--params-file"])
        .arg(root.join("config/motif_controller.yaml"))
        .arg("-p")
        .arg(format!(
            "library:={}",
            root.join("models/default").display()
        ))
        .arg("-p")
        .arg(format!("urdf:={}", urdf.display()))
        .args(["-p", &format!("loop_rate_hz:={LOOP_RATE_HZ}")])
        .args(["-p", "publish_joint_states:=false"])
        .env("ROS_DOMAIN_ID", "0")
        .env("RUST_LOG", "warn,rustdds=off,ros2_client=off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start motif_controller");
    let ctl_log = log_lines(&mut ctl);

    let mut commanded: Vec<Vec<f64>> = Vec::new(); // forward commands, arrival order
    let mut stamped_cmds: Vec<Stamped> = Vec::new(); // joint_commands, tick stamps
    let mut measured: Vec<Stamped> = Vec::new();
    let mut statuses: Vec<Value> = Vec::new();
    let mut bad_names = 0usize;

    // Phases of the script, driven by what the controller reports.
    let mut first_acked_ns: Option<i64> = None;
    let mut last_first_send: Option<Instant> = None;
    let mut preempt_sent_ns: Option<i64> = None;
    let mut last_preempt_send: Option<Instant> = None;
    let mut preempt_acked = false;
    let mut queue_at_preempt: Option<Value> = None;
    let mut done_since: Option<Instant> = None;
    let deadline = started + Duration::from_secs(45);
    let mut timed_out = true;

    while Instant::now() < deadline {
        while let Ok(c) = cmd_rx.try_recv() {
            commanded.push(c.data);
        }
        while let Ok(c) = jc_rx.try_recv() {
            stamped_cmds.push(Stamped {
                ns: stamp_ns(&c.header.stamp),
                pos: c.position,
            });
        }
        while let Ok(js) = js_rx.try_recv() {
            if js.name != names {
                bad_names += 1;
            }
            measured.push(Stamped {
                ns: stamp_ns(&js.header.stamp),
                pos: js.position,
            });
        }
        while let Ok(s) = status_rx.try_recv() {
            let v: Value = serde_json::from_str(&s.data).expect("status is JSON");
            let cmd_text = v["last_command"]["text"].as_str().unwrap_or("");
            let accepted = v["last_command"]["accepted"] == true;
            if first_acked_ns.is_none() && cmd_text == FIRST && accepted {
                first_acked_ns = Some((v["stamp"].as_f64().unwrap() * 1e9) as i64);
            }
            // Mid-motif: well into `wave`, with `reach_left figure_eight` queued.
            if first_acked_ns.is_some()
                && preempt_sent_ns.is_none()
                && v["phase"] == "executing"
                && v["motif"] == "wave"
                && v["progress"].as_f64().unwrap_or(0.0) >= 0.4
            {
                queue_at_preempt = Some(v["queue"].clone());
                preempt_sent_ns = Some(wall_ns());
                last_preempt_send = Some(Instant::now());
                seq_tx.try_send(StringMsg::new(PREEMPT)).unwrap();
            }
            if preempt_sent_ns.is_some() && cmd_text == PREEMPT && accepted {
                preempt_acked = true;
            }
            let finished = preempt_acked
                && v["phase"] == "holding"
                && v["queue"].as_array().is_some_and(|q| q.is_empty());
            if finished {
                done_since.get_or_insert_with(Instant::now);
            } else {
                done_since = None;
            }
            statuses.push(v);
        }
        // Commands on a volatile topic are lost until discovery has matched
        // the controller's reader: resend until the status acknowledges it.
        let resend =
            |last: &Option<Instant>| last.is_none_or(|t| t.elapsed() > Duration::from_secs(1));
        if first_acked_ns.is_none()
            && !measured.is_empty()
            && !statuses.is_empty()
            && resend(&last_first_send)
        {
            seq_tx.try_send(StringMsg::new(FIRST)).unwrap();
            last_first_send = Some(Instant::now());
        }
        if preempt_sent_ns.is_some() && !preempt_acked && resend(&last_preempt_send) {
            seq_tx.try_send(StringMsg::new(PREEMPT)).unwrap();
            last_preempt_send = Some(Instant::now());
        }
        // Done: the preempting queue has played out and the arm has settled.
        if done_since.is_some_and(|t| t.elapsed() > Duration::from_millis(500)) {
            timed_out = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let recorded_s = started.elapsed().as_secs_f64();

    sigint(ctl.id());
    sigint(sim.id());
    let ctl_status = common::wait_bounded(&mut ctl, Duration::from_secs(10));
    let sim_status = common::wait_bounded(&mut sim, Duration::from_secs(10));
    transport.shutdown().expect("clean transport shutdown");
    let ctl_log = ctl_log.join().unwrap_or_default();
    let sim_log = sim_log.join().unwrap_or_default();
    for l in &ctl_log {
        eprintln!("motif_controller: {l}");
    }
    for l in &sim_log {
        eprintln!("sim_arm: {l}");
    }
    eprintln!(
        "recorded {recorded_s:.1} s: {} commands, {} stamped commands, {} joint states, {} statuses",
        commanded.len(),
        stamped_cmds.len(),
        measured.len(),
        statuses.len()
    );

    assert!(
        first_acked_ns.is_some(),
        "the controller never accepted `{FIRST}`"
    );
    assert!(
        preempt_sent_ns.is_some(),
        "never reached mid-`wave` to preempt"
    );
    assert!(preempt_acked, "the controller never accepted `{PREEMPT}`");
    assert!(
        !timed_out,
        "the preempting queue did not play out within the time bound"
    );
    assert!(
        ctl_status.is_some_and(|s| s.success()),
        "motif_controller did not exit cleanly on SIGINT: {ctl_status:?}"
    );
    assert!(
        sim_status.is_some_and(|s| s.success()),
        "sim_arm did not exit cleanly on SIGINT: {sim_status:?}"
    );

    // The preemption replaced a non-empty queue, and the motifs played are
    // the first list up to `wave`, then the new list.
    let queue_at_preempt = queue_at_preempt.unwrap();
    eprintln!("queue when preempted: {queue_at_preempt}");
    assert_eq!(
        queue_at_preempt,
        serde_json::json!(["reach_left", "figure_eight"]),
        "preemption did not happen mid-sequence"
    );
    let mut played: Vec<&str> = Vec::new();
    for s in &statuses {
        if s["phase"] == "executing" {
            let m = s["motif"].as_str().unwrap();
            if played.last() != Some(&m) {
                played.push(m);
            }
        }
    }
    eprintln!("motifs executed: {played:?}");
    assert_eq!(played, EXPECTED_PLAYED, "executed motifs");
    assert!(
        statuses.iter().all(|s| s["stalled"] == false),
        "the controller reported a stall"
    );

    // Enough samples on every stream.
    measured.sort_by_key(|s| s.ns);
    measured.dedup_by_key(|s| s.ns);
    stamped_cmds.sort_by_key(|s| s.ns);
    stamped_cmds.dedup_by_key(|s| s.ns);
    let span = |v: &[Stamped]| (v.last().unwrap().ns - v[0].ns) as f64 * 1e-9;
    assert!(
        measured.len() > 1000,
        "only {} /joint_states",
        measured.len()
    );
    assert!(
        stamped_cmds.len() > 2000,
        "only {} joint_commands",
        stamped_cmds.len()
    );
    assert!(
        commanded.len() > 2000,
        "only {} forward commands",
        commanded.len()
    );
    let js_rate = measured.len() as f64 / span(&measured);
    let cmd_rate = stamped_cmds.len() as f64 / span(&stamped_cmds);
    eprintln!("rates: /joint_states {js_rate:.0} Hz, commands {cmd_rate:.0} Hz");
    assert!(
        js_rate > 0.6 * JS_RATE_HZ,
        "/joint_states at {js_rate:.0} Hz"
    );
    assert!(
        cmd_rate > 0.6 * LOOP_RATE_HZ,
        "commands at {cmd_rate:.0} Hz"
    );

    // Every forward command has the URDF's width and is one of the stamped
    // ticks (the same stream, so aligning by the stamps is sound).
    assert!(commanded.iter().all(|c| c.len() == dof));
    assert!(stamped_cmds.iter().all(|c| c.pos.len() == dof));
    let key = |p: &[f64]| p.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
    let ticks: HashSet<Vec<u64>> = stamped_cmds.iter().map(|c| key(&c.pos)).collect();
    let found = commanded.iter().filter(|c| ticks.contains(&key(c))).count();
    eprintln!(
        "forward commands found among the stamped ticks: {found}/{}",
        commanded.len()
    );
    assert!(
        found as f64 >= 0.99 * commanded.len() as f64,
        "forward commands differ from the stamped ticks ({found}/{})",
        commanded.len()
    );

    // Measured: URDF names, always within the URDF position limits.
    assert_eq!(bad_names, 0, "/joint_states with other joint names");
    let plim = arm.position_limits();
    for s in &measured {
        assert_eq!(s.pos.len(), dof);
        for j in 0..dof {
            let q = s.pos[j];
            assert!(
                q.is_finite() && q >= plim[j].0 && q <= plim[j].1,
                "measured {} = {q} outside [{}, {}]",
                names[j],
                plim[j].0,
                plim[j].1
            );
        }
    }

    // Bumpless start: the first command is the arm's measured posture.
    let first = &stamped_cmds[0];
    for j in 0..dof {
        assert!(
            (first.pos[j] - FAR_START[j]).abs() < 0.01,
            "first command {} = {} but the arm stands at {}",
            names[j],
            first.pos[j],
            FAR_START[j]
        );
    }
    let (run, peak) = check_stream_limits(root, &arm, &stamped_cmds);
    eprintln!(
        "{run} consecutive tick pairs checked; peak share of the limits: velocity {:.3}, acceleration {:.3}, jerk {:.3}",
        peak[0], peak[1], peak[2]
    );
    assert!(
        run as f64 > 0.95 * stamped_cmds.len() as f64,
        "too many ticks lost"
    );

    // Tracking: each measured sample against the latest tick stamped at or
    // before it minus `lag`, from the first motif command on. Lag 0 is what
    // is asserted; the others show where the transport latency sits.
    let t0 = first_acked_ns.unwrap();
    let track = |lag_ns: i64| -> (usize, Vec<f64>, Vec<f64>) {
        let mut sq = vec![0.0; dof];
        let mut max = vec![0.0f64; dof];
        let mut n = 0usize;
        for s in measured.iter().filter(|s| s.ns >= t0) {
            let at = s.ns - lag_ns;
            let i = stamped_cmds.partition_point(|c| c.ns <= at);
            if i == 0 || at - stamped_cmds[i - 1].ns > 20_000_000 {
                continue; // no tick in force (a gap in the recording)
            }
            let c = &stamped_cmds[i - 1];
            for j in 0..dof {
                let e = (s.pos[j] - c.pos[j]).abs();
                sq[j] += e * e;
                max[j] = max[j].max(e);
            }
            n += 1;
        }
        let rms = sq.iter().map(|s| (s / n.max(1) as f64).sqrt()).collect();
        (n, rms, max)
    };
    for lag_ms in [2, 5, 10, 20] {
        let (_, rms, _) = track(lag_ms * 1_000_000);
        let worst = rms.iter().cloned().fold(0.0, f64::max);
        eprintln!("lag {lag_ms:>2} ms: worst per-joint RMS {worst:.5} rad");
    }
    let (n, rms, max) = track(0);
    eprintln!("tracking over DDS, commanded vs measured (rad), {n} samples:");
    eprintln!("    {:<14} {:>9} {:>9}", "joint", "RMS", "max");
    for j in 0..dof {
        eprintln!("    {:<14} {:>9.5} {:>9.5}", names[j], rms[j], max[j]);
    }
    assert!(
        n as f64 > 0.9 * measured.iter().filter(|s| s.ns >= t0).count() as f64,
        "too few measured samples had a command in force ({n})"
    );
    for j in 0..dof {
        assert!(
            rms[j] < RMS_BOUND,
            "{}: RMS tracking error {:.4} rad ≥ {RMS_BOUND}",
            names[j],
            rms[j]
        );
        assert!(
            max[j] < MAX_BOUND,
            "{}: max tracking error {:.4} rad ≥ {MAX_BOUND}",
            names[j],
            max[j]
        );
    }
    eprintln!(
        "closed-loop scenario took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

const LOSS_TEST: &str = "joint_states_loss_ends_in_a_smooth_hold";

/// `/joint_states` stop mid-motif (the simulated arm is killed): the
/// controller decelerates to a hold within the limits and reports the fault.
#[test]
fn joint_states_loss_ends_in_a_smooth_hold() {
    if common::in_private_netns(LOSS_TEST, Duration::from_secs(60)) {
        run_loss_scenario(Path::new(env!("CARGO_MANIFEST_DIR")));
    }
}

fn run_loss_scenario(root: &Path) {
    let urdf = root.join("urdf/arm.urdf");
    let arm = ArmModel::from_urdf_file(&urdf).expect("URDF loads");
    let mut builder = TransportBuilder::new(NodeSpec::new("loss_test").with_domain_id(0));
    let seq_tx = builder
        .publish::<StringMsg>("/motif_controller/sequence", QosSpec::DEFAULT, 8)
        .unwrap();
    let jc_rx = builder
        .subscribe::<JointState>("/motif_controller/joint_commands", QosSpec::DEFAULT, 8192)
        .unwrap();
    let status_rx = builder
        .subscribe::<StringMsg>("/motif_controller/status", QosSpec::DEFAULT, 256)
        .unwrap();
    let transport = builder.spawn().expect("start the test's transport");
    let mut sim = Command::new(env!("CARGO_BIN_EXE_sim_arm"))
        .current_dir(root)
        .args(["--publish-rate", &JS_RATE_HZ.to_string()])
        .env("ROS_DOMAIN_ID", "0")
        .env("RUST_LOG", "warn,rustdds=off,ros2_client=off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sim_arm");
    let mut ctl = Command::new(env!("CARGO_BIN_EXE_motif_controller"))
        .current_dir(root)
        .args(["--ros-args", "-p", &format!("loop_rate_hz:={LOOP_RATE_HZ}")])
        .env("ROS_DOMAIN_ID", "0")
        .env("RUST_LOG", "warn,rustdds=off,ros2_client=off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start motif_controller");
    let ctl_log = log_lines(&mut ctl);
    let mut cmds: Vec<Stamped> = Vec::new();
    let mut statuses: Vec<Value> = Vec::new();
    let (mut acked, mut killed_at, mut last_send) = (false, None::<Instant>, None::<Instant>);
    let deadline = Instant::now() + Duration::from_secs(40);
    while Instant::now() < deadline {
        while let Ok(c) = jc_rx.try_recv() {
            cmds.push(Stamped {
                ns: stamp_ns(&c.header.stamp),
                pos: c.position,
            });
        }
        while let Ok(s) = status_rx.try_recv() {
            let v: Value = serde_json::from_str(&s.data).expect("status is JSON");
            acked |= v["last_command"]["text"] == "circle" && v["last_command"]["accepted"] == true;
            if killed_at.is_none()
                && v["phase"] == "executing"
                && v["progress"].as_f64().unwrap_or(0.0) >= 0.3
            {
                let _ = sim.kill();
                killed_at = Some(Instant::now());
            }
            statuses.push(v);
        }
        if !acked
            && !statuses.is_empty()
            && last_send.is_none_or(|t: Instant| t.elapsed() > Duration::from_secs(1))
        {
            seq_tx.try_send(StringMsg::new("circle")).unwrap();
            last_send = Some(Instant::now());
        }
        if killed_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = sim.wait();
    sigint(ctl.id());
    let ctl_status = common::wait_bounded(&mut ctl, Duration::from_secs(10));
    transport.shutdown().expect("clean transport shutdown");
    for l in ctl_log.join().unwrap_or_default() {
        eprintln!("motif_controller: {l}");
    }
    assert!(killed_at.is_some(), "never reached mid-circle");
    assert!(
        ctl_status.is_some_and(|s| s.success()),
        "controller exit: {ctl_status:?}"
    );
    let last = statuses.last().expect("statuses");
    eprintln!("last status: {last}");
    assert_eq!(last["phase"], "holding");
    assert_eq!(last["fault"], "joint_states_lost");
    assert!(last["state"]
        .as_str()
        .unwrap()
        .contains("joint states stopped"));
    // The commanded stream braked within every limit and came to rest.
    cmds.sort_by_key(|s| s.ns);
    check_stream_limits(root, &arm, &cmds);
    let n = cmds.len();
    assert!(n > 500, "only {n} commands");
    assert_eq!(cmds[n - 1].pos, cmds[n - 50].pos, "still moving at the end");
}

/// Every limit, as a driver at the loop rate sees the stream: finite
/// differences of consecutive ticks (stamps one period apart; a window with
/// a tick lost in transport starts afresh). Returns the ticks checked in
/// unbroken runs and the peak shares of velocity, acceleration and jerk.
fn check_stream_limits(root: &Path, arm: &ArmModel, cmds: &[Stamped]) -> (usize, [f64; 3]) {
    let limits = JointLimits::from_arm(
        arm,
        &JointLimitsFile::load(&root.join("config/joint_limits.yaml")).unwrap(),
        arm.joint_names(),
        0.95,
    )
    .unwrap();
    let period_ns = (1e9 / LOOP_RATE_HZ).round() as i64;
    let mut meter = LimitMeter::new(&limits, 1.0 / LOOP_RATE_HZ);
    let mut peak = [0.0f64; 3];
    let mut run = 0usize;
    for (i, c) in cmds.iter().enumerate() {
        if i > 0 && (c.ns - cmds[i - 1].ns - period_ns).abs() > 1000 {
            meter = LimitMeter::new(&limits, 1.0 / LOOP_RATE_HZ);
        } else {
            run += 1;
        }
        let f = meter.push(&c.pos);
        assert!(
            f.iter().all(|&x| x <= 1.0 + 1e-6),
            "tick {i}: velocity/acceleration/jerk shares {f:?}"
        );
        for k in 0..3 {
            peak[k] = peak[k].max(f[k]);
        }
    }
    (run, peak)
}
