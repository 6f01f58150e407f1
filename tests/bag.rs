//! rosbag2 recording and import, checked against an independent
//! implementation (the Python `rosbags` package, tests/peer/bag_tool.py):
//! bags the demo and the node write are read back by it, a bag it writes is
//! imported and taught to a copy of the default library, and bad bags are
//! errors. The disk-full case runs the node on a 1 MB tmpfs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{in_private_netns, interrupt_logged, venv_python, wait_bounded};
use motif::library::Library;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const JOINTS: [&str; 7] = [
    "panda_joint1",
    "panda_joint2",
    "panda_joint3",
    "panda_joint4",
    "panda_joint5",
    "panda_joint6",
    "panda_joint7",
];

fn root() -> &'static Path {
    Path::new(ROOT)
}

fn bin(name: &str) -> Command {
    let mut c = Command::new(Path::new(env!("CARGO_BIN_EXE_motif_train")).with_file_name(name));
    c.current_dir(ROOT);
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `bag_tool.py read BAG` as JSON.
fn read_with_rosbags(py: &Path, bag: &Path) -> Value {
    let o = Command::new(py)
        .arg(root().join("tests/peer/bag_tool.py"))
        .arg("read")
        .arg(bag)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "rosbags could not read {}: {}",
        bag.display(),
        text(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn write_with_rosbags(py: &Path, bag: &Path, extra: &[&str]) {
    let o = Command::new(py)
        .arg(root().join("tests/peer/bag_tool.py"))
        .arg("write")
        .arg(bag)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "bag_tool write: {}", text(&o));
}

fn count(doc: &Value, topic: &str) -> u64 {
    doc["topics"][topic]["count"].as_u64().unwrap_or(0)
}

/// The number in `recorded N messages` of a program's output.
fn recorded(out: &str) -> u64 {
    let at = out.find("recorded ").expect("a `recorded N messages` line") + 9;
    out[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_demos_recording_reads_back_in_rosbags() {
    let Some(py) = venv_python(
        root(),
        "rosbags",
        "the_demos_recording_reads_back_in_rosbags",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("demo_bag");
    let o = bin("motif_demo")
        .args([
            "-p",
            "realtime_priority:=0",
            "--max-seconds",
            "3",
            "--preempt-at",
            "1",
        ])
        .arg("--plot")
        .arg(dir.path().join("demo.png"))
        .arg("--record")
        .arg(&bag)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let doc = read_with_rosbags(&py, &bag);
    let topics = &doc["topics"];
    assert_eq!(
        topics["/forward_position_controller/commands"]["type"],
        "std_msgs/msg/Float64MultiArray"
    );
    assert_eq!(
        topics["/motif_controller/joint_commands"]["type"],
        "sensor_msgs/msg/JointState"
    );
    assert_eq!(
        topics["/joint_states"]["type"],
        "sensor_msgs/msg/JointState"
    );
    let n = count(&doc, "/joint_states");
    assert!(n > 2500, "{n} joint states over 3 s at 1 kHz");
    for t in [
        "/forward_position_controller/commands",
        "/motif_controller/joint_commands",
    ] {
        assert_eq!(count(&doc, t), n, "{t}");
    }
    assert_eq!(3 * n, recorded(&text(&o)), "what the demo says it recorded");
    for t in ["/motif_controller/joint_commands", "/joint_states"] {
        let last = &topics[t]["last"];
        assert_eq!(last["name"], serde_json::json!(JOINTS), "{t}");
        assert!(
            last["stamp"].as_f64().unwrap() > 1.7e9,
            "{t}: wall-clock stamps"
        );
    }
    // The commanded positions are the same numbers on both command topics.
    assert_eq!(
        topics["/forward_position_controller/commands"]["last"]["data"],
        topics["/motif_controller/joint_commands"]["last"]["position"]
    );
}

#[test]
fn the_nodes_recording_over_dds_reads_back_in_rosbags() {
    const NAME: &str = "the_nodes_recording_over_dds_reads_back_in_rosbags";
    let Some(py) = venv_python(root(), "rosbags", NAME) else {
        return;
    };
    if !in_private_netns(NAME, Duration::from_secs(60)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("node_bag");
    let (log, _) = run_node(&bag, Duration::from_secs(3));
    let doc = read_with_rosbags(&py, &bag);
    let n = count(&doc, "/forward_position_controller/commands");
    assert!(n > 2000, "{n} commands over 3 s at 1 kHz:\n{log}");
    assert_eq!(count(&doc, "/motif_controller/joint_commands"), n);
    let status = count(&doc, "/motif_controller/status");
    assert!(status >= 20, "{status} status messages at 10 Hz");
    assert_eq!(2 * n + status, recorded(&log), "{log}");
    let last: Value = serde_json::from_str(
        doc["topics"]["/motif_controller/status"]["last"]["data"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["recording"]["dropped"], 0, "{last}");
    assert!(last["recording"].get("error").is_none(), "{last}");
}

/// Runs the node at 1 kHz on the default library, playing motifs and
/// recording to `bag`, for `secs`, then SIGINT; its log and how long it took
/// to exit.
fn run_node(bag: &Path, secs: Duration) -> (String, Duration) {
    let log_file = tempfile::NamedTempFile::new().unwrap();
    let child = bin("motif_controller")
        .args([
            "--ros-args",
            "-p",
            "wait_for_joint_states:=false",
            "-p",
            "autostart:=circle wave lift square",
            "-p",
            "realtime_priority:=0",
            "-p",
        ])
        .arg(format!("record:={}", bag.display()))
        // A file, not a pipe: nobody reads a pipe while the node runs.
        .stdout(log_file.reopen().unwrap())
        .stderr(log_file.reopen().unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(secs);
    let asked = Instant::now();
    let log = interrupt_logged(child, log_file.path());
    let exit = asked.elapsed();
    assert!(!log.contains("panicked"), "{log}");
    (log, exit)
}

/// Ticks of the shutdown timing line. The margin callers allow is start-up
/// (library load, before the first tick) and the overruns of a shared
/// 2-core machine, which this binary's other tests (training a motif) load;
/// a loop that waited on the disk would lose whole seconds.
fn ticks(log: &str) -> f64 {
    log.split("timing: ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no timing line:\n{log}"))
}

/// Runs test `name` of this binary again in private mount, network and PID
/// namespaces, after `setup` (shell; `$D` a fresh directory, and `vars` in
/// the environment) and with `MOTIF_TEST_DIR=$D`; asserts that it passed
/// within `limit`. The PID namespace ends with its first process, so a
/// timed-out scenario takes its node and any mount daemon with it.
fn in_private_mount(name: &str, setup: &str, vars: &[(&str, &Path)], limit: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "set -e; ip link set lo up; {setup}; \
         MOTIF_TEST_DIR=\"$D\" \"$EXE\" --exact {name} --nocapture --test-threads=1"
    );
    let mut child = Command::new("unshare")
        .args([
            "--fork",
            "--pid",
            "--mount-proc",
            "--kill-child",
            "-m",
            "-n",
        ])
        .args(["--", "sh", "-c", &script])
        .env("D", dir.path())
        .env("EXE", std::env::current_exe().unwrap())
        .envs(vars.iter().copied())
        .spawn()
        .expect("unshare (util-linux), as root");
    let status = wait_bounded(&mut child, limit).expect("scenario timed out");
    assert!(status.success(), "{name}: {status}");
}

/// The disk fills mid-recording: the loop keeps its rate, the status and
/// the log say why the recording stopped, and the bag up to there reads.
#[test]
fn a_full_disk_stops_the_recording_not_the_loop() {
    const NAME: &str = "a_full_disk_stops_the_recording_not_the_loop";
    let Some(py) = venv_python(root(), "rosbags", NAME) else {
        return;
    };
    let Some(dir) = std::env::var_os("MOTIF_TEST_DIR") else {
        return in_private_mount(
            NAME,
            "mount -t tmpfs -o size=1m tmpfs \"$D\"",
            &[],
            Duration::from_secs(90),
        );
    };
    let bag = PathBuf::from(dir).join("full");
    let secs = 8;
    let (log, _) = run_node(&bag, Duration::from_secs(secs));
    assert!(log.contains("No space left on device"), "{log}");
    assert!(
        log.contains("recording to") && log.contains("stopped"),
        "{log}"
    );
    let ticks = ticks(&log);
    assert!(
        ticks >= 0.85 * 1000.0 * secs as f64,
        "{ticks} ticks in {secs} s:\n{log}"
    );
    let doc = read_with_rosbags(&py, &bag);
    let n = count(&doc, "/forward_position_controller/commands");
    assert!(n > 100, "{n} commands kept before the disk filled");
    let last: Value = serde_json::from_str(
        doc["topics"]["/motif_controller/status"]["last"]["data"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    // The last status that made it to disk predates the failure; the log
    // line above is where the error shows.
    assert!(last["recording"]["written"].as_u64().unwrap() > 0, "{last}");
    eprintln!("disk full after {n} commands; {ticks} ticks in {secs} s");
}

/// A disk slower than the node's output, for a minute at 1 kHz: the loop
/// keeps its rate, the queue overflows into counted drops that `~/status`
/// reports, the node still exits within ros2 launch's 5 s after SIGINT, and
/// the bag reads.
#[test]
fn a_slow_disk_drops_messages_not_ticks() {
    const NAME: &str = "a_slow_disk_drops_messages_not_ticks";
    let Some(py) = venv_python(root(), "rosbags, mfusepy", NAME) else {
        return;
    };
    let Some(dir) = std::env::var_os("MOTIF_TEST_DIR") else {
        // tests/peer/slow_fs.py: a FUSE passthrough writing 100 kB/s, a
        // fraction of what the node records.
        let fs = "mkdir \"$D/back\" \"$D/slow\"; \
             \"$PY\" \"$PEER\" \"$D/back\" \"$D/slow\" 100000 & FS=$!; \
             trap 'st=$?; umount \"$D/slow\" || umount -l \"$D/slow\"; kill $FS 2>/dev/null; wait $FS || :; exit $st' EXIT; \
             for i in $(seq 50); do mountpoint -q \"$D/slow\" && break; sleep 0.1; done; \
             mountpoint -q \"$D/slow\"";
        let peer = root().join("tests/peer/slow_fs.py");
        let vars = [("PY", py.as_path()), ("PEER", peer.as_path())];
        return in_private_mount(NAME, fs, &vars, Duration::from_secs(150));
    };
    let bag = PathBuf::from(dir).join("slow/run");
    let secs = 60;
    // The live status, near the end: the bag's own copies lag the disk.
    let status = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(50));
        bin("motifctl").arg("status").output().unwrap()
    });
    let (log, exit) = run_node(&bag, Duration::from_secs(secs));
    let status = status.join().unwrap();
    assert!(status.status.success(), "{}", text(&status));
    let live: Value = serde_json::from_slice(&status.stdout).unwrap();
    let live_dropped = live["recording"]["dropped"].as_u64().unwrap();
    assert!(live_dropped > 0, "{live}");
    let ticks = ticks(&log);
    assert!(
        ticks >= 0.85 * 1000.0 * secs as f64,
        "{ticks} ticks in {secs} s:\n{log}"
    );
    assert!(exit < Duration::from_secs(5), "exit took {exit:?}:\n{log}");
    let dropped: u64 = log
        .lines()
        .find(|l| l.contains("recorded "))
        .and_then(|l| l.split(" dropped").next()?.rsplit('(').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no `recorded … (D dropped` line in\n{log}"));
    assert!(
        dropped >= live_dropped,
        "{dropped} < {live_dropped}:\n{log}"
    );
    // The exit is bounded because the writer gave up on its queue.
    assert!(log.contains("too slow to write the last"), "{log}");
    let doc = read_with_rosbags(&py, &bag);
    let n = count(&doc, "/forward_position_controller/commands");
    assert!(n > 1000, "{n} commands");
    eprintln!(
        "slow disk: {n} commands written, {dropped} messages dropped ({live_dropped} at 50 s in ~/status), {ticks} ticks in {secs} s, exit {exit:?} after SIGINT"
    );
}

#[test]
fn a_bag_recorded_elsewhere_teaches_a_motif_that_chains() {
    let Some(py) = venv_python(
        root(),
        "rosbags",
        "a_bag_recorded_elsewhere_teaches_a_motif_that_chains",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("by_hand");
    write_with_rosbags(&py, &bag, &[]);
    // Import alone: URDF joints in URDF order, fingers dropped, ends trimmed.
    let csv = dir.path().join("nod.csv");
    let o = bin("motif_train")
        .args([
            "import",
            "--topic",
            "/joint_states",
            "--trim-still",
            "--bag",
        ])
        .arg(&bag)
        .arg("--out")
        .arg(&csv)
        .output()
        .unwrap();
    let log = text(&o);
    assert!(o.status.success(), "{log}");
    assert!(
        log.contains("dropped joints not in the URDF: panda_finger_joint1, panda_finger_joint2"),
        "{log}"
    );
    let demo = motif::train::demo::Demo::load(&csv).unwrap();
    assert_eq!(demo.names, JOINTS);
    assert!((demo.dt - 0.004).abs() < 1e-9, "mean step {}", demo.dt);
    // bag_tool's nod: 1 s still, 3 s of motion, 1.5 s still.
    let secs = demo.duration();
    // The nod eases in and out, so a little of each end is within the
    // still tolerance too.
    assert!(
        (2.6..=3.05).contains(&secs),
        "{secs} s of motion after trimming"
    );

    let lib = dir.path().join("lib");
    copy_dir(&root().join("models/default"), &lib);
    let before = Library::load(&lib).unwrap();
    let o = bin("motif_train")
        .args(["add", "--name", "nod", "--trim-still", "--library"])
        .arg(&lib)
        .arg("--bag")
        .arg(&bag)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let after = Library::load(&lib).unwrap();
    assert_eq!(
        after.network.shared, before.network.shared,
        "shared weights changed"
    );
    assert_eq!(
        after.network.motifs[..9],
        before.network.motifs[..],
        "an earlier motif changed"
    );
    let o = bin("motif_train")
        .args(["eval", "--json", "--sequences", "10", "--library"])
        .arg(&lib)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let nod = r["per_motif"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "nod")
        .unwrap_or_else(|| panic!("no nod in {r}"));
    let id = nod["in_distribution_nmse"].as_f64().unwrap();
    let chained = nod["chaining_nmse"].as_f64().unwrap();
    let ratio = r["chaining_ratio"].as_f64().unwrap();
    eprintln!("nod: in-distribution NMSE {id:.3e}, chained into it {chained:.3e}; library ratio {ratio:.3}");
    assert!(ratio <= 1.1, "chaining ratio {ratio}");
    assert!(
        chained / id <= 1.1,
        "chaining into the added motif costs ×{}",
        chained / id
    );
    assert!(id <= 0.02, "in-distribution NMSE {id}");
}

#[test]
fn bad_bags_are_errors_with_the_reason() {
    let Some(py) = venv_python(root(), "rosbags", "bad_bags_are_errors_with_the_reason") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    write_with_rosbags(&py, &good, &[]);
    let mcap = good.join("good.mcap");
    let import = |bag: &Path, topic: &str, extra: &[&str]| {
        let o = bin("motif_train")
            .args(["import", "--topic", topic, "--bag"])
            .arg(bag)
            .arg("--out")
            .arg(dir.path().join("out.csv"))
            .args(extra)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{} imported", bag.display());
        let t = text(&o);
        assert!(!t.contains("panicked"), "{t}");
        t
    };
    // A bare .mcap file is a bag too.
    let o = bin("motif_train")
        .args(["import", "--bag"])
        .arg(&mcap)
        .arg("--out")
        .arg(dir.path().join("ok.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    let not_mcap = dir.path().join("notes.mcap");
    std::fs::write(&not_mcap, "just some text\n").unwrap();
    assert!(import(&not_mcap, "/joint_states", &[]).contains("MCAP magic"));

    let cut = dir.path().join("cut.mcap");
    let bytes = std::fs::read(&mcap).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = import(&cut, "/joint_states", &[]);
    assert!(e.contains("truncated or corrupt"), "{e}");

    let e = import(&good, "/nope", &[]);
    assert!(
        e.contains("no topic /nope") && e.contains("/joint_states"),
        "{e}"
    );

    let e = import(&dir.path().join("missing"), "/joint_states", &[]);
    assert!(e.contains("missing"), "{e}");

    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    assert!(import(&empty_dir, "/joint_states", &[]).contains("not a rosbag2 bag"));

    // A topic of another type.
    let demo_bag = dir.path().join("strings");
    write_strings(&demo_bag);
    let e = import(&demo_bag, "/chatter", &[]);
    assert!(
        e.contains("std_msgs/msg/String") && e.contains("joint motion is read from"),
        "{e}"
    );

    let nan = dir.path().join("nan");
    write_with_rosbags(&py, &nan, &["--nan"]);
    let e = import(&nan, "/joint_states", &[]);
    assert!(e.contains("panda_joint4 = NaN is not finite"), "{e}");

    let e = import(&good, "/joint_states", &["--start", "1.0", "--end", "1.05"]);
    assert!(e.contains("at least 0.1 s is needed"), "{e}");
}

/// A bag whose only topic carries strings, written by our own writer.
fn write_strings(dir: &Path) {
    use motif::ros::bag::{encode, BagWriter};
    use motif::ros::msgs::StringMsg;
    let mut w = BagWriter::create(dir).unwrap();
    let t = w.add_topic::<StringMsg>("/chatter").unwrap();
    for i in 0..3u64 {
        w.write(t, i * 1_000_000, &encode(&StringMsg::new("hello")).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
