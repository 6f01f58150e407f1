//! Pure network math: no I/O, no ROS.
//!
//! - [`linalg`]: `ndarray` ⇄ `faer` bridges, eigendecomposition, pseudoinverse,
//!   Lyapunov solvers.
//! - [`analytic`]: the linear thalamocortical model (mode fit, eigenvalue
//!   control, closed-form motif initial state).
//! - [`prep`]: the optimised preparatory module `J_prep = J0 + U_p V_p` and
//!   decay times.

pub mod analytic;
pub mod error;
pub mod linalg;
pub mod prep;

pub use error::{ModelError, Result};
