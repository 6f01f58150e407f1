//! Offline training: demonstrations and generators, BPTT, the optimiser,
//! training modes, evaluation.

pub mod bptt;
pub mod config;
pub mod curve;
pub mod dataset;
pub mod demo;
pub mod eval;
pub mod fit;
pub mod generators;
pub mod import;
pub mod prep;
pub mod readout;
pub mod report;
pub mod trainer;
