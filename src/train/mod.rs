//! Offline training: demonstrations, BPTT, the optimiser, training modes.

pub mod bptt;
