//! The fixed-size outbound sample: what the loop hands the transport each tick.

use super::sequencer::Phase;

/// Upper bound on commanded joints; keeps [`Sample`] `Copy` and allocation-free.
pub const MAX_JOINTS: usize = 16;

/// One commanded posture. `Copy` so the loop can `try_send` it without
/// allocating; the transport side turns it into ROS messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Tick number since the loop started.
    pub seq: u64,
    /// Controller time of the tick, seconds since the controller's epoch.
    pub t: f64,
    pub len: usize,
    /// Joint positions in the configured joint order (rad).
    pub position: [f64; MAX_JOINTS],
    /// Commanded joint velocities (rad/s).
    pub velocity: [f64; MAX_JOINTS],
    /// Commanded joint accelerations (rad/s²).
    pub acceleration: [f64; MAX_JOINTS],
    pub phase: Phase,
    /// Index of the motif being prepared for or executed.
    pub motif: Option<u16>,
    /// While preparing: the distance of the network state from the motif's
    /// initial state, relative to that state's norm (`‖x − x*‖ / ‖x*‖`).
    pub prep_residual: Option<f32>,
}

impl Sample {
    pub fn positions(&self) -> &[f64] {
        &self.position[..self.len]
    }

    pub fn velocities(&self) -> &[f64] {
        &self.velocity[..self.len]
    }

    pub fn accelerations(&self) -> &[f64] {
        &self.acceleration[..self.len]
    }

    /// Nothing is commanded yet (waiting for the robot's joint states).
    pub fn is_command(&self) -> bool {
        self.phase != Phase::Waiting
    }
}
