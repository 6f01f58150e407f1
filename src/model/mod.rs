//! Pure network math: no I/O, no ROS.

pub mod analytic;
pub mod error;
pub mod linalg;

pub use error::{ModelError, Result};
pub mod prep;
