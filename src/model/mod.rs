//! Pure network math: no I/O, no ROS.

pub mod network;

pub use network::{run_motif, run_prep, Drive, Motif, Network, OutputScaling, Preparation, Shared, State, Variant};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error("{what} has shape {got:?}, expected {want:?}")]
    Shape {
        what: String,
        got: Vec<usize>,
        want: Vec<usize>,
    },
    #[error("{0} contains NaN or infinite values")]
    NonFinite(String),
    #[error("duplicate motif name '{0}'")]
    DuplicateMotif(String),
    #[error("{0}")]
    Empty(String),
    #[error("{0}")]
    Invalid(String),
}
