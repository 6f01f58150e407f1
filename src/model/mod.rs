//! Pure network math: no I/O, no ROS.

pub mod adam;
pub mod analytic;
pub mod error;
pub mod kernels;
pub mod linalg;
pub mod metrics;
pub mod network;
pub mod prep;

pub use adam::Adam;
pub use error::{ModelError, Result};
pub use metrics::{geometric, nmse};
pub use network::{
    run_motif, run_prep, Drive, Dynamics, Motif, Network, OutputScaling, Preparation, Shared,
    State, Variant,
};
