//! Shared by the tests that cross DDS. Each runs its scenario inside a fresh
//! network namespace (`unshare -n`, then `lo` up), so no traffic leaves a
//! private loopback, and bounds every wait.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// When set (CI), a missing Cyclone DDS venv is a failure, not a skip.
pub const REQUIRE_ENV: &str = "MOTIF_REQUIRE_INTEROP";
/// Set in the re-executed child, which then runs the scenario itself.
const NETNS_ENV: &str = "MOTIF_TEST_NETNS";

/// Waits for `child` at most `limit`, killing it past that.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Sends SIGINT to `child` (a node or the simulated arm) and asserts it
/// exits cleanly within 20 s.
pub fn interrupt(child: Child, what: &str) {
    let status = sigint_and_wait(child).unwrap_or_else(|| panic!("{what} did not exit on SIGINT"));
    assert!(status.success(), "{what}: {status}");
}

/// [`interrupt`] for a node whose log went to `log`: returns the log, and
/// shows it when the node did not exit cleanly.
pub fn interrupt_logged(child: Child, log: &Path) -> String {
    let status = sigint_and_wait(child).expect("node exits on SIGINT");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(status.success(), "{log}");
    log
}

fn sigint_and_wait(mut child: Child) -> Option<ExitStatus> {
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    wait_bounded(&mut child, Duration::from_secs(20))
}

/// True inside the private namespace, where the caller runs its scenario.
/// Outside, re-runs test `test_name` of this binary under `unshare -n`,
/// asserts that it passed within `limit`, and returns false.
pub fn in_private_netns(test_name: &str, limit: Duration) -> bool {
    if std::env::var_os(NETNS_ENV).is_none() {
        let exe = std::env::current_exe().expect("test executable path");
        let mut child = Command::new("unshare")
            .args(["-n", "--"])
            .arg(exe)
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(NETNS_ENV, "1")
            .spawn()
            .expect("spawn unshare (util-linux); needs root or user namespaces");
        let status = wait_bounded(&mut child, limit)
            .unwrap_or_else(|| panic!("{test_name}: scenario in the private namespace timed out"));
        assert!(status.success(), "{test_name}: scenario failed: {status}");
        return false;
    }
    let lo = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("run `ip` (iproute2)");
    assert!(lo.success(), "ip link set lo up failed");
    true
}

/// The venv's Python with Cyclone DDS, or `None` after a loud skip message;
/// with `MOTIF_REQUIRE_INTEROP` set a missing venv panics instead.
pub fn cyclone_python(root: &Path, test_name: &str) -> Option<PathBuf> {
    venv_python(root, "cyclonedds.domain", test_name)
}

/// The venv's Python if it can import `module` (same skip rules as above).
pub fn venv_python(root: &Path, module: &str, test_name: &str) -> Option<PathBuf> {
    let py = root.join(".venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    if std::env::var_os(REQUIRE_ENV).is_some() {
        panic!("{REQUIRE_ENV} is set but .venv with {module} is missing: run scripts/setup_test_env.sh");
    }
    // Straight to the stderr handle: the harness captures eprintln!, and a
    // silent skip is how an interop regression goes unnoticed.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test_name}: no .venv with {module}. \
         Run scripts/setup_test_env.sh (set {REQUIRE_ENV}=1 to make this a failure). ***\n"
    );
    None
}
