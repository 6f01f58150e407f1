//! A simulated arm: rigid-body dynamics of a URDF under gravity, driven by
//! position-controlled joint motors, stepped at a fixed rate. No ROS here.
//!
//! Physics is `rapier3d` with the URDF loaded by `rapier3d-urdf` as one
//! reduced-coordinate multibody (joint angles are the state, so joints never
//! drift apart as they can with maximal-coordinate constraints).
//!
//! Each movable joint has a rapier motor in the force-based model: a PD law
//! `kp·(q_cmd − q) − kd·q̇` solved implicitly by the constraint solver, which
//! stays stable on the light wrist links where an explicit PD at 1 kHz would
//! need tiny gains. On top, optionally, a gravity-compensation feed-forward
//! torque, as the Panda's own joint controllers apply; the sum of both is kept
//! within the URDF effort limit. Self-collisions and contacts are not
//! simulated (the committed URDF has no collision shapes).
//!
//! Measured efforts: rapier does not report multibody motor impulses, so the
//! motor part of the effort is the PD law evaluated on the post-step state,
//! clamped like the motor; for an implicit spring–damper that is the force it
//! applied over the step, up to solver convergence.

use std::collections::HashMap;
use std::path::Path;

use rapier3d::prelude::*;
use rapier3d_urdf::{UrdfLoaderOptions, UrdfMultibodyOptions, UrdfRobot};
use thiserror::Error;
use urdf_rs::JointType;

use super::arm::{ArmError, ArmModel, PANDA_READY};

/// Default physics rate (Hz), as ros2_control runs a real arm.
pub const DEFAULT_RATE_HZ: f64 = 1000.0;

const GRAVITY: f64 = 9.81;

/// Why the simulator could not be built or could not take a command.
#[derive(Debug, Error)]
pub enum SimError {
    /// The URDF is not a usable arm (names the joint or link).
    #[error(transparent)]
    Arm(#[from] ArmError),
    #[error(
        "{source_name}: link `{link}` is moved by joint `{joint}` but has no mass \
         (no <inertial>, and nothing rigidly attached to it has one); it cannot be simulated"
    )]
    MissingInertial {
        source_name: String,
        link: String,
        joint: String,
    },
    #[error("{source_name}: link `{link}` has an invalid <inertial>: {reason}")]
    InvalidInertial {
        source_name: String,
        link: String,
        reason: &'static str,
    },
    #[error("{source_name}: joint `{joint}` mimics `{leader}`; coupled joints are not simulated")]
    MimicJoint {
        source_name: String,
        joint: String,
        leader: String,
    },
    #[error("physics engine did not create a multibody joint for `{joint}`")]
    Build { joint: String },
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error("command has {got} values but the arm has {expected} joints")]
    CommandLength { expected: usize, got: usize },
    #[error("command for joint `{joint}` (index {index}) is not finite: {value}")]
    NonFiniteCommand {
        index: usize,
        joint: String,
        value: f64,
    },
}

/// Tuning of the simulated arm. `None` gains are derived from the URDF.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Physics rate in Hz.
    pub rate_hz: f64,
    /// Motor stiffness per joint (N·m/rad or N/m).
    pub kp: Option<Vec<f64>>,
    /// Motor damping per joint (N·m·s/rad or N·s/m).
    pub kd: Option<Vec<f64>>,
    /// Add a gravity feed-forward torque (as the Panda's joint controllers do).
    pub gravity_compensation: bool,
    /// Start pose; `None` is the Panda ready pose for 7 joints, else mid-range.
    pub initial_positions: Option<Vec<f64>>,
    /// Solver substeps per physics step. Rapier rebuilds the multibody mass
    /// matrix every substep (most of the step's cost); at 1 kHz one is enough,
    /// raise it for coarser rates.
    pub substeps: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            rate_hz: DEFAULT_RATE_HZ,
            kp: None,
            kd: None,
            gravity_compensation: true,
            initial_positions: None,
            substeps: 1,
        }
    }
}

/// One movable joint as the simulator drives it.
#[derive(Debug, Clone)]
struct SimJoint {
    name: String,
    handle: MultibodyJointHandle,
    axis: JointAxis,
    revolute: bool,
    lower: f64,
    upper: f64,
    effort: f64,
    velocity: f64,
    kp: f64,
    kd: f64,
    /// Joint frame in the child body's frame (constant).
    frame_in_child: Pose,
    child_body: RigidBodyHandle,
    parent_body: RigidBodyHandle,
    /// Bodies moved by this joint (the child and everything below it).
    subtree: Vec<RigidBodyHandle>,
}

/// The simulated arm. Joint vectors are in [`ArmModel::joint_names`] order.
pub struct SimArm {
    world: PhysicsWorld,
    arm: ArmModel,
    joints: Vec<SimJoint>,
    dt: f64,
    gravity_compensation: bool,
    command: Vec<f64>,
    positions: Vec<f64>,
    velocities: Vec<f64>,
    efforts: Vec<f64>,
    feedforward: Vec<f64>,
    steps: u64,
}

impl std::fmt::Debug for SimArm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimArm")
            .field("robot", &self.arm.name())
            .field("dt", &self.dt)
            .field("steps", &self.steps)
            .field("positions", &self.positions)
            .finish_non_exhaustive()
    }
}

impl SimArm {
    /// Loads a URDF file with the default configuration (1 kHz, gravity
    /// compensation, ready pose).
    pub fn from_urdf(path: impl AsRef<Path>) -> Result<Self, SimError> {
        Self::new(ArmModel::from_urdf_file(path)?, SimConfig::default())
    }

    /// URDF text; `source_name` appears in error messages.
    pub fn from_urdf_str(text: &str, source_name: &str) -> Result<Self, SimError> {
        Self::new(
            ArmModel::from_urdf_str(text, source_name)?,
            SimConfig::default(),
        )
    }

    /// Builds the simulation of an already validated arm.
    pub fn new(arm: ArmModel, config: SimConfig) -> Result<Self, SimError> {
        let n = arm.dof();
        check_simulable(&arm)?;
        if !(config.rate_hz.is_finite() && config.rate_hz >= 10.0 && config.rate_hz <= 100_000.0) {
            return Err(SimError::Config(format!(
                "rate {} Hz is outside 10..=100000",
                config.rate_hz
            )));
        }
        if !(1..=64).contains(&config.substeps) {
            return Err(SimError::Config(format!(
                "substeps {} is outside 1..=64",
                config.substeps
            )));
        }
        let specs = arm.joints().to_vec();
        // Stiffness scales with the joint's strength: 20 N·m/rad per N·m of
        // effort gives the Panda ≈1740 on the shoulder and 240 on the wrist, stiff
        // enough to track within a few mrad, while the implicit motor keeps it
        // stable. Damping keeps each joint near critical for typical link inertia.
        let kp = gains(config.kp.as_deref(), n, "kp", || {
            specs.iter().map(|j| 20.0 * j.effort).collect()
        })?;
        let kd = gains(config.kd.as_deref(), n, "kd", || {
            specs.iter().map(|j| j.effort).collect()
        })?;
        let initial = match &config.initial_positions {
            Some(q) => {
                if q.len() != n {
                    return Err(SimError::Config(format!(
                        "initial_positions has {} values, the arm has {n} joints",
                        q.len()
                    )));
                }
                q.clone()
            }
            None if n == PANDA_READY.len() => PANDA_READY.to_vec(),
            None => specs.iter().map(|j| 0.5 * (j.lower + j.upper)).collect(),
        };
        for (i, (q, j)) in initial.iter().zip(&specs).enumerate() {
            if !q.is_finite() || *q < j.lower || *q > j.upper {
                return Err(SimError::Config(format!(
                    "initial position {q} of joint `{}` (index {i}) is outside [{}, {}]",
                    j.name, j.lower, j.upper
                )));
            }
        }

        let options = UrdfLoaderOptions {
            create_colliders_from_collision_shapes: false,
            create_colliders_from_visual_shapes: false,
            make_roots_fixed: true,
            // A resting arm must still react to the next command; rapier does not
            // wake a sleeping island when a motor target changes.
            rigid_body_blueprint: RigidBodyBuilder::dynamic().can_sleep(false),
            ..UrdfLoaderOptions::default()
        };
        let robot = arm.urdf();
        let urdf_robot = UrdfRobot::from_robot(robot, options, Path::new("."));
        // Insertion keeps joint order, so this maps built joints back to URDF joints.
        // A moving joint into an empty link is merged into the fixed joint after it.
        let urdf_indices: Vec<Vec<usize>> = urdf_robot
            .joints
            .iter()
            .map(|j| {
                let mut v = vec![j.urdf_joint_index];
                v.extend(&j.merged_urdf_joint_indices);
                v
            })
            .collect();
        let mut world = PhysicsWorld::new();
        world.gravity = Vector::new(0.0, 0.0, -GRAVITY as Real);
        world.integration_parameters.dt = (1.0 / config.rate_hz) as Real;
        world.integration_parameters.num_solver_iterations = config.substeps;
        let PhysicsWorld {
            bodies,
            colliders,
            multibody_joints,
            ..
        } = &mut world;
        let handles = urdf_robot.insert_using_multibody_joints(
            bodies,
            colliders,
            multibody_joints,
            UrdfMultibodyOptions::DISABLE_SELF_CONTACTS,
        );

        // Body tree, to know which bodies each joint carries.
        let mut children: HashMap<RigidBodyHandle, Vec<RigidBodyHandle>> = HashMap::new();
        for j in &handles.joints {
            children.entry(j.link1).or_default().push(j.link2);
        }
        let mut joints = Vec::with_capacity(n);
        for spec in &specs {
            let urdf_index = robot
                .joints
                .iter()
                .position(|j| j.name == spec.name)
                .ok_or_else(|| SimError::Build {
                    joint: spec.name.clone(),
                })?;
            let revolute = robot.joints[urdf_index].joint_type == JointType::Revolute;
            let built = handles
                .joints
                .iter()
                .zip(&urdf_indices)
                .find(|(_, idx)| idx.contains(&urdf_index))
                .map(|(h, _)| h)
                .ok_or_else(|| SimError::Build {
                    joint: spec.name.clone(),
                })?;
            let handle = built.joint.ok_or_else(|| SimError::Build {
                joint: spec.name.clone(),
            })?;
            let mut subtree = vec![built.link2];
            let mut k = 0;
            while k < subtree.len() {
                if let Some(c) = children.get(&subtree[k]) {
                    subtree.extend(c.iter().copied());
                }
                k += 1;
            }
            joints.push(SimJoint {
                name: spec.name.clone(),
                handle,
                axis: if revolute {
                    JointAxis::AngX
                } else {
                    JointAxis::LinX
                },
                revolute,
                lower: spec.lower,
                upper: spec.upper,
                effort: spec.effort,
                velocity: spec.velocity,
                kp: kp[joints.len()],
                kd: kd[joints.len()],
                frame_in_child: Pose::IDENTITY,
                child_body: built.link2,
                parent_body: built.link1,
                subtree,
            });
        }

        let mut sim = Self {
            world,
            arm,
            joints,
            dt: 1.0 / config.rate_hz,
            gravity_compensation: config.gravity_compensation,
            command: initial.clone(),
            positions: vec![0.0; n],
            velocities: vec![0.0; n],
            efforts: vec![0.0; n],
            feedforward: vec![0.0; n],
            steps: 0,
        };
        sim.init_joints(&initial)?;
        Ok(sim)
    }

    /// Sets motors, start pose and the per-joint frames.
    fn init_joints(&mut self, initial: &[f64]) -> Result<(), SimError> {
        for (j, &q) in self.joints.iter_mut().zip(initial) {
            let (mb, link_id) = self
                .world
                .multibody_joints
                .get_mut(j.handle)
                .ok_or_else(|| SimError::Build {
                    joint: j.name.clone(),
                })?;
            let link = mb.link_mut(link_id).ok_or_else(|| SimError::Build {
                joint: j.name.clone(),
            })?;
            let dof = link.assembly_id();
            let data = &mut link.joint.data;
            data.set_motor_model(j.axis, MotorModel::ForceBased);
            data.set_motor_max_force(j.axis, j.effort as Real);
            j.frame_in_child = data.local_frame2;
            // Joints are built at zero; displace this one to its start value.
            let mut disp: Vec<Real> = vec![0.0; mb.ndofs()];
            if let Some(d) = disp.get_mut(dof) {
                *d = q as Real;
            }
            mb.apply_displacements(&disp);
        }
        // Place the bodies at the new joint values (once per multibody would do;
        // per joint is simpler and this runs once).
        for j in &self.joints {
            if let Some((mb, _)) = self.world.multibody_joints.get_mut(j.handle) {
                mb.forward_kinematics(&self.world.bodies, false);
                mb.update_rigid_bodies(&mut self.world.bodies, false);
            }
        }
        self.apply_motor_targets();
        self.read_state();
        self.efforts.copy_from_slice(&self.feedforward);
        Ok(())
    }

    /// Number of movable joints.
    pub fn dof(&self) -> usize {
        self.joints.len()
    }

    /// The arm model (names, limits) this simulation was built from.
    pub fn arm(&self) -> &ArmModel {
        &self.arm
    }

    /// Joint names, the order of every vector here.
    pub fn joint_names(&self) -> &[String] {
        self.arm.joint_names()
    }

    /// Physics time step in seconds.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Simulated time since start, in seconds.
    pub fn time(&self) -> f64 {
        self.steps as f64 * self.dt
    }

    /// The position targets in force.
    pub fn command(&self) -> &[f64] {
        &self.command
    }

    /// Sets the position targets. Values beyond a joint's limits are clamped
    /// to the limit so the motor never pushes against the joint stop.
    /// Wrong length or a non-finite value is rejected and the old command kept.
    pub fn set_command(&mut self, q: &[f64]) -> Result<(), SimError> {
        if q.len() != self.joints.len() {
            return Err(SimError::CommandLength {
                expected: self.joints.len(),
                got: q.len(),
            });
        }
        if let Some((index, &value)) = q.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(SimError::NonFiniteCommand {
                index,
                joint: self.joints[index].name.clone(),
                value,
            });
        }
        for ((c, &v), j) in self.command.iter_mut().zip(q).zip(&self.joints) {
            *c = v.clamp(j.lower, j.upper);
        }
        // Motors are loaded in `step`, which recomputes the feed-forward anyway.
        Ok(())
    }

    /// Advances the physics by one time step.
    pub fn step(&mut self) {
        self.apply_motor_targets();
        self.world.step();
        self.enforce_velocity_limits();
        self.steps += 1;
        self.read_state();
    }

    /// Measured joint positions (rad or m).
    pub fn joint_positions(&self) -> &[f64] {
        &self.positions
    }

    /// Measured joint velocities (rad/s or m/s).
    pub fn joint_velocities(&self) -> &[f64] {
        &self.velocities
    }

    /// Joint efforts applied over the last step (N·m or N): gravity
    /// feed-forward plus the motor's PD term, within the effort limit.
    pub fn joint_efforts(&self) -> &[f64] {
        &self.efforts
    }

    /// Computes the gravity feed-forward for the current pose, splits each
    /// joint's effort budget between it and the motor, and loads both.
    fn apply_motor_targets(&mut self) {
        let g = self.world.gravity;
        for b in self
            .joints
            .iter()
            .flat_map(|j| [j.child_body, j.parent_body])
        {
            if let Some(rb) = self.world.bodies.get_mut(b) {
                rb.reset_torques(false);
                rb.reset_forces(false);
            }
        }
        for (i, j) in self.joints.iter().enumerate() {
            let Some(child) = self.world.bodies.get(j.child_body) else {
                continue;
            };
            let frame = *child.position() * j.frame_in_child;
            let axis = frame.rotation * Vector::X;
            let anchor = frame.translation;
            let ff = if self.gravity_compensation {
                // Torque (or force) gravity exerts about this joint; cancel it.
                let mut tau: Real = 0.0;
                let mut force: Real = 0.0;
                for b in &j.subtree {
                    if let Some(rb) = self.world.bodies.get(*b) {
                        let w = g * rb.mass();
                        tau += axis.dot((rb.center_of_mass() - anchor).cross(w));
                        force += axis.dot(w);
                    }
                }
                let gen = if j.revolute { tau } else { force };
                (-(gen as f64)).clamp(-j.effort, j.effort)
            } else {
                0.0
            };
            self.feedforward[i] = ff;
            let motor_budget = (j.effort - ff.abs()).max(0.0);
            if ff != 0.0 {
                let v = axis * ff as Real;
                if let Some(rb) = self.world.bodies.get_mut(j.child_body) {
                    if j.revolute {
                        rb.add_torque(v, false);
                    } else {
                        rb.add_force(v, false);
                    }
                }
                if let Some(rb) = self.world.bodies.get_mut(j.parent_body) {
                    if j.revolute {
                        rb.add_torque(-v, false);
                    } else {
                        rb.add_force(-v, false);
                    }
                }
            }
            if let Some((mb, link_id)) = self.world.multibody_joints.get_mut(j.handle) {
                if let Some(link) = mb.link_mut(link_id) {
                    let data = &mut link.joint.data;
                    data.set_motor(
                        j.axis,
                        self.command[i] as Real,
                        0.0,
                        j.kp as Real,
                        j.kd as Real,
                    );
                    data.set_motor_max_force(j.axis, motor_budget as Real);
                }
            }
        }
    }

    /// Clamps joint speeds to the URDF velocity limits, as Gazebo and the real
    /// arm's drives do. Without it a wrist joint driven at its effort limit
    /// reaches tens of rad/s and overshoots into its (soft) position stop.
    fn enforce_velocity_limits(&mut self) {
        for j in &self.joints {
            let Some((mb, link_id)) = self.world.multibody_joints.get_mut(j.handle) else {
                continue;
            };
            let Some(dof) = mb.link(link_id).map(|l| l.assembly_id()) else {
                continue;
            };
            let mut v = mb.generalized_velocity_mut();
            if dof < v.len() {
                let vmax = j.velocity as Real;
                v[dof] = v[dof].clamp(-vmax, vmax);
            }
        }
    }

    fn read_state(&mut self) {
        for (i, j) in self.joints.iter().enumerate() {
            let Some((mb, link_id)) = self.world.multibody_joints.get(j.handle) else {
                continue;
            };
            let Some(link) = mb.link(link_id) else {
                continue;
            };
            let coord = if j.revolute { 3 } else { 0 };
            let q = link.joint.coords()[coord] as f64;
            let v = mb.joint_velocity(link).get(0).copied().unwrap_or(0.0) as f64;
            self.positions[i] = q;
            self.velocities[i] = v;
            let budget = (j.effort - self.feedforward[i].abs()).max(0.0);
            let motor = (j.kp * (self.command[i] - q) - j.kd * v).clamp(-budget, budget);
            self.efforts[i] = self.feedforward[i] + motor;
        }
    }
}

fn gains(
    given: Option<&[f64]>,
    n: usize,
    what: &str,
    default: impl FnOnce() -> Vec<f64>,
) -> Result<Vec<f64>, SimError> {
    match given {
        None => Ok(default()),
        Some(g) if g.len() != n => Err(SimError::Config(format!(
            "{what} has {} values, the arm has {n} joints",
            g.len()
        ))),
        Some(g) if g.iter().any(|v| !v.is_finite() || *v < 0.0) => Err(SimError::Config(format!(
            "{what} must be finite and non-negative, got {g:?}"
        ))),
        Some(g) => Ok(g.to_vec()),
    }
}

/// What ArmModel accepts but the physics cannot: massless moving links,
/// broken inertials, mimic joints.
fn check_simulable(arm: &ArmModel) -> Result<(), SimError> {
    let robot = arm.urdf();
    let src = arm.source_name();
    for link in &robot.links {
        let i = &link.inertial;
        let m = i.mass.value;
        let d = [i.inertia.ixx, i.inertia.iyy, i.inertia.izz];
        let reason = if !m.is_finite() || m < 0.0 {
            Some("mass must be finite and non-negative")
        } else if d.iter().any(|v| !v.is_finite() || *v < 0.0)
            || ![i.inertia.ixy, i.inertia.ixz, i.inertia.iyz]
                .iter()
                .all(|v| v.is_finite())
        {
            Some("inertia must be finite with a non-negative diagonal")
        } else if m > 0.0 && d.iter().all(|v| *v == 0.0) {
            Some("a link with mass needs a non-zero inertia")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(SimError::InvalidInertial {
                source_name: src.to_string(),
                link: link.name.clone(),
                reason,
            });
        }
    }
    let mass: HashMap<&str, f64> = robot
        .links
        .iter()
        .map(|l| (l.name.as_str(), l.inertial.mass.value))
        .collect();
    for j in &robot.joints {
        if let Some(m) = &j.mimic {
            return Err(SimError::MimicJoint {
                source_name: src.to_string(),
                joint: j.name.clone(),
                leader: m.joint.clone(),
            });
        }
        if j.joint_type == JointType::Fixed {
            continue;
        }
        // The child and every link welded to it by fixed joints move as one
        // body; that body needs mass or its acceleration is undefined.
        let mut group = vec![j.child.link.as_str()];
        let mut k = 0;
        while k < group.len() {
            let parent = group[k];
            group.extend(
                robot
                    .joints
                    .iter()
                    .filter(|c| c.joint_type == JointType::Fixed && c.parent.link == parent)
                    .map(|c| c.child.link.as_str()),
            );
            k += 1;
        }
        let total: f64 = group
            .iter()
            .map(|l| mass.get(l).copied().unwrap_or(0.0))
            .sum();
        if total <= 0.0 {
            return Err(SimError::MissingInertial {
                source_name: src.to_string(),
                link: j.child.link.clone(),
                joint: j.name.clone(),
            });
        }
    }
    Ok(())
}
