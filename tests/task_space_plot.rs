//! `motif_train plot`: the default library's end-effector paths from the
//! URDF's forward kinematics, and a clear error when the library's outputs
//! are not the URDF's joints.

use std::path::Path;
use std::process::{Command, Output};

fn plot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motif_train"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .arg("plot")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run motif_train plot")
}

#[test]
fn the_default_library_is_drawn_in_task_space() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("tips.png");
    let out = plot(&[
        "--library",
        "models/default",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000);
}

#[test]
fn a_urdf_with_other_joints_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let urdf = std::fs::read_to_string(root.join("urdf/arm.urdf")).unwrap();
    let other = dir.path().join("other.urdf");
    std::fs::write(&other, urdf.replace("panda_joint7", "wrist_roll")).unwrap();
    let png = dir.path().join("never.png");
    let out = plot(&[
        "--library",
        "models/default",
        "--urdf",
        other.to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not this URDF's joints") && stderr.contains("panda_joint7"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked") && !png.exists());
}
