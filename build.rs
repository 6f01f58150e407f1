//! Fails a `ros-r2r` build at once, with a message that says what to do, when
//! no ROS 2 is sourced. Without this guard the build would compile bindgen
//! and r2r's dependencies for minutes and then die in r2r's build script with
//! "Source your ROS!" deep in a backtrace.
//!
//! The exception is the CI type-check, `--features ros-r2r,r2r/doc-only`,
//! which uses r2r's bundled bindings and needs no ROS. A build script cannot
//! see a dependency's features, but naming `r2r/<feature>` on the command
//! line also turns on this package's `r2r` feature (Cargo.toml), which is
//! visible here as `CARGO_FEATURE_R2R`; the plain `ros-r2r` feature does not.
//! If someone names another r2r feature without ROS, r2r's own build still
//! stops with "Source your ROS!".

use std::env;

const MESSAGE: &str = "the ros-r2r feature needs a sourced ROS 2 \
(source /opt/ros/<distro>/setup.bash) or build without it to use the default \
ros2-client backend";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["AMENT_PREFIX_PATH", "ROS_DISTRO"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let wants_r2r = env::var_os("CARGO_FEATURE_ROS_R2R").is_some();
    let r2r_features_named = env::var_os("CARGO_FEATURE_R2R").is_some();
    if !wants_r2r || r2r_features_named {
        return;
    }
    // r2r reads exactly these two: the message packages from
    // AMENT_PREFIX_PATH, the API level from ROS_DISTRO.
    let set = |var: &str| env::var_os(var).is_some_and(|v| !v.is_empty());
    let missing: Vec<&str> = ["AMENT_PREFIX_PATH", "ROS_DISTRO"]
        .into_iter()
        .filter(|v| !set(v))
        .collect();
    if !missing.is_empty() {
        eprintln!("error: {MESSAGE}");
        eprintln!("       ({} not set)", missing.join(" and "));
        std::process::exit(1);
    }
}
