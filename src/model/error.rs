//! Typed errors for the network math.

use thiserror::Error;

/// Everything that can go wrong in the analytic model, the linear algebra
/// behind it, or the preparatory-module optimisation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    /// An argument has the wrong shape.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        what: &'static str,
        expected: String,
        got: String,
    },
    /// An argument is outside its valid range (non-finite, non-positive, ...).
    #[error("invalid argument {what}: {why}")]
    InvalidArgument { what: &'static str, why: String },
    /// An iterative decomposition (eigen, SVD) did not converge.
    #[error("{what} did not converge")]
    NoConvergence { what: &'static str },
    /// A problem is too ill-conditioned for the requested accuracy.
    #[error("{what} is ill-conditioned (condition number {cond:.3e})")]
    IllConditioned { what: &'static str, cond: f64 },
    /// A result that must be real came out with a non-negligible imaginary part.
    #[error("{what} has a relative imaginary part {rel_imag:.3e}; expected real")]
    NotReal { what: &'static str, rel_imag: f64 },
    /// A dynamics matrix that must be Hurwitz (all Re < 0) is not.
    #[error("{what} is not stable: spectral abscissa {abscissa:.3e}")]
    Unstable { what: &'static str, abscissa: f64 },
    /// A network tensor has the wrong shape.
    #[error("{what} has shape {got:?}, expected {want:?}")]
    TensorShape {
        what: String,
        got: Vec<usize>,
        want: Vec<usize>,
    },
    #[error("{0} contains NaN or infinite values")]
    NonFinite(String),
    #[error("duplicate motif name '{0}'")]
    DuplicateMotif(String),
    #[error("{0}")]
    Invalid(String),
    /// An optimisation or search failed to produce a usable result.
    #[error("{what} failed: {why}")]
    Failed { what: &'static str, why: String },
}

pub type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn shape_err(
    what: &'static str,
    expected: impl ToString,
    got: impl ToString,
) -> ModelError {
    ModelError::Shape {
        what,
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

pub(crate) fn invalid(what: &'static str, why: impl ToString) -> ModelError {
    ModelError::InvalidArgument {
        what,
        why: why.to_string(),
    }
}
