//! Offline training: demonstrations, BPTT, the optimiser, training modes.

pub mod bptt;
pub mod adam;
pub mod trainer;
pub mod eval;
pub mod dataset;
pub mod config;
pub mod fit;
