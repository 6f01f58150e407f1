//! `motif_controller` refuses bad parameters with a clear message and a
//! non-zero exit, before it touches the network.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motif_controller"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("run motif_controller");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_parameters_fail_clearly() {
    let cases: &[(&[&str], &str)] = &[
        (&["-p", "loop_rate_hz:=-5"], "loop_rate_hz"),
        (&["--ros-args", "-p", "speed:=9"], "speed"),
        (&["-p", "no_such_param:=1"], "no_such_param"),
        (&["-p", "library:=/nonexistent/lib"], "/nonexistent/lib"),
        (
            &["-p", "urdf:=/nonexistent/arm.urdf"],
            "/nonexistent/arm.urdf",
        ),
        (&["-p", "joint_names:=[a, b]"], "joint_names"),
        (&["--params-file", "/nonexistent.yaml"], "/nonexistent.yaml"),
        (&["--bogus-flag"], "--bogus-flag"),
    ];
    for (args, needle) in cases {
        let (code, err) = run(args);
        assert_eq!(code, 1, "{args:?} exited with {code}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: message does not mention `{needle}`: {err}"
        );
    }
    let (code, out) = run(&["--help"]);
    assert_eq!(code, 0, "{out}");
}
