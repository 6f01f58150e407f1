//! The committed URDF, read from disk, and a generated motif through the file format.

use motif::robot::PANDA_READY;
use motif::robot::{ArmModel, Kinematics};
use motif::train::demo::Demo;
use motif::train::generators::{arm_motif, ARM_DEFAULT_DT};

fn urdf_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/arm.urdf")
}

#[test]
fn ready_pose_flange_from_file() {
    let arm = ArmModel::from_urdf_file(urdf_path()).unwrap();
    assert_eq!(arm.dof(), 7);
    let p = Kinematics::new(&arm)
        .unwrap()
        .fk_position(&PANDA_READY)
        .unwrap();
    let want = [0.3069, 0.0, 0.5903];
    for i in 0..3 {
        assert!((p[i] - want[i]).abs() < 1e-4, "{p:?}");
    }
}

#[test]
fn arm_motif_survives_the_file_format() {
    let arm = ArmModel::from_urdf_file(urdf_path()).unwrap();
    let demo = arm_motif("circle", &arm, ARM_DEFAULT_DT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("circle.csv");
    demo.save(&path).unwrap();
    let back = Demo::load(&path).unwrap();
    arm.check_joint_names(&back.names).unwrap();
    assert_eq!(back.data, demo.data);
    assert!((back.dt - demo.dt).abs() < 1e-12);
}
