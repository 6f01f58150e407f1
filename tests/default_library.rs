//! The shipped default library loads, drives the URDF's joints, and meets the
//! accuracy targets: in-distribution NMSE ≤ 0.02, chaining ratio ≤ 1.1.

use std::path::Path;

use motif::library::Library;
use motif::robot::ArmModel;
use motif::train::eval::{evaluate, EvalOptions};

#[test]
fn default_library_matches_the_arm_and_chains_zero_shot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).expect("default library loads");
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    arm.check_joint_names(&lib.manifest.outputs)
        .expect("library drives the URDF's joints");
    assert!(lib.network.motifs.len() >= 6);

    let report = evaluate(
        &lib.network,
        lib.manifest.mode,
        &lib.targets,
        &EvalOptions::default(),
    );
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(
        report.in_distribution_nmse <= 0.02,
        "in-distribution NMSE {}",
        report.in_distribution_nmse
    );
    let ratio = report.chaining_ratio.unwrap();
    assert!(ratio <= 1.1, "chaining ratio {ratio}");
}
