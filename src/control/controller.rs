//! The control core: one [`Controller::tick`] per loop period.
//!
//! Three stages, each keeping what the next one needs (docs/architecture.md):
//!
//! 1. **The network** runs at its own step `dt` (e.g. 4 ms). Motif time
//!    advances from the clock times the speed, so a late tick never
//!    stretches a motif: missed steps are caught up. A preparation is
//!    stretched in time so its peak velocity, acceleration and jerk fit the
//!    limits (`JointLimits::prep_stretch`), and gated in: it crossfades from
//!    the dynamics it replaces (`State::step_blend`), so a preemption
//!    mid-motif turns the arm instead of reversing it in one step. Each
//!    motif's speed is capped at load so its own peaks fit the limits.
//! 2. **The reference** is a cubic B-spline through the network's samples
//!    (`reference.rs`): C², two network steps behind the network. An output
//!    offset, decaying with the preparation's own leak, makes every new
//!    motion start exactly at the commanded state: from the measured
//!    posture at start-up, after a hold, after a fault.
//! 3. **The tracker** (`tracker.rs`, Ruckig) follows the reference within
//!    the position, velocity, acceleration and jerk limits, one loop period
//!    per tick, and performs `hold` and fault stops as time-optimal
//!    jerk-limited stops. What it outputs is what is published.
//!
//! Nothing in `tick`, `command` or `measure` allocates; buffers are sized in
//! `new`.

// Joint-indexed loops over several parallel fixed-size arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use ndarray::Array1;

use super::{
    commands::Command,
    error::ControlError,
    limits::JointLimits,
    reference::Spline,
    sample::{Sample, MAX_JOINTS},
    sequencer::{Action, FaultCode, Phase, RejectReason, Sequencer, SpeedProfile, SPEED_RAMP_TIME},
    status::StatusSnapshot,
    supervision::{SupervisionConfig, Supervisor, Trip},
    tracker::{JointState3, Tracker},
};
use crate::{
    library::Library,
    model::{Dynamics, Network, State},
    robot::{ArmModel, JointLimitsFile},
};

/// Network steps one tick may catch up; beyond that (a stall of hundreds of
/// ms) the motif is delayed rather than making one tick arbitrarily long.
const MAX_CATCH_UP: u32 = 64;
/// Longest stretch of a preparation (in multiples of its nominal length).
const MAX_STRETCH: f64 = 50.0;
/// Longest crossfade into a preparation (s).
const MAX_BLEND: f64 = 2.0;
/// Network steps at a motif's start not counted in its speed cap. A network
/// whose readout was not refitted with the onset weighted (libraries from
/// before it, motifs added by `motif_train add`, which keeps the readout)
/// leaves its initial state with a brief fast transient (up to 1.9 rad/s in
/// two steps) that the tracker smooths; capping the whole motif for it
/// would slow it 3×.
const SETTLE_STEPS: usize = 25;
/// A published sample this far (rad) from the reference counts as limited:
/// the tracker, not the network, shaped it.
const LIMITED_EPS: f64 = 1e-4;

/// What the control core needs, decided once at start-up from the node's
/// parameters (`node::Params::controller_config`) or by a test.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Commanded joints in command order; empty = the library's outputs.
    pub joint_names: Vec<String>,
    /// Acceleration and jerk limits (and tighter position/velocity ones).
    pub joint_limits: JointLimitsFile,
    /// Share of the velocity limits the controller may use.
    pub velocity_limit_scale: f64,
    /// Seconds per tick: the tracker's step.
    pub period: f64,
    /// Initial speed.
    pub speed: f64,
    /// Seconds `stop` takes to slow motif time to a halt.
    pub stop_time: f64,
    /// Preparation length in units of τ; 0 = the library's own.
    pub preparation_tau: f64,
    /// Command nothing until [`Controller::measure`] has been called once,
    /// then start from that posture; `None` starts from the network's rest
    /// posture and supervises nothing.
    pub supervision: Option<SupervisionSettings>,
}

/// Tracking supervision as configured (per joint or one for all).
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisionSettings {
    /// One value for every joint, or one per joint (rad); 0 = unchecked.
    pub path_tolerance: Vec<f64>,
    pub window: f64,
    pub timeout: f64,
}

/// What the network is doing. Not the reported [`Phase`], which also
/// depends on the tracker (braking is `holding` whatever the network does)
/// and on the start-up wait, and follows the samples' labels, which run two
/// network steps behind the network.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Activity {
    /// Start posture, network at rest.
    Rest,
    Prep {
        motif: u16,
    },
    Motif {
        motif: u16,
    },
    Hold,
}

/// The current preparation's timing.
#[derive(Debug, Clone, Copy)]
struct PrepPlan {
    alpha: f32,
    stretch: f64,
    /// Steps of the crossfade from `from`.
    gate_steps: u32,
    from: Dynamics,
}

pub struct Controller {
    net: Network,
    state: State,
    y_net: Array1<f32>,
    /// Configured joint i is library output `perm[i]`.
    perm: [usize; MAX_JOINTS],
    joint_names: Vec<String>,
    limits: JointLimits,
    seq: Sequencer,
    speed: SpeedProfile,
    stop_time: f64,
    dt: f64,
    tau: f64,
    prep_steps: u32,
    rest: [f64; MAX_JOINTS],
    start_posture: Vec<[f64; MAX_JOINTS]>,
    /// Highest speed at which each motif's own peaks fit the limits.
    speed_caps: Vec<f64>,
    /// Each motif's peak velocity, acceleration and jerk per joint at speed
    /// 1, kept so a new velocity scale re-derives the caps without the network.
    motif_peaks: Vec<[[f64; 3]; MAX_JOINTS]>,
    /// The velocity limits at scale 1.
    full_velocity: [f64; MAX_JOINTS],

    activity: Activity,
    /// Network steps taken in the current activity, of `total`.
    k: u32,
    total: u32,
    prep: PrepPlan,
    /// Output-space offset added to the network's samples (rad).
    offset: [f64; MAX_JOINTS],
    spline: Spline,
    /// The activity each spline point came from; `labels[1]` is published.
    labels: [Activity; 4],
    tracker: Tracker,

    waiting: bool,
    /// Command waiting for the first measurement.
    pending: Option<u16>,
    measured: Option<[f64; MAX_JOINTS]>,
    supervisor: Option<Supervisor>,

    last_t: Option<f64>,
    phase_started: f64,
    published: Option<(Phase, Option<u16>)>,
    ticks: u64,
    network_steps: u64,
    /// See [`Sample::prep_residual`]; set by the network step.
    prep_residual: Option<f32>,
    fault: Option<Trip>,
    faults: u64,
    limited_ticks: u64,
}

impl Controller {
    pub fn new(
        lib: &Library,
        arm: &ArmModel,
        config: &ControllerConfig,
    ) -> Result<Self, ControlError> {
        let net = lib.network.clone();
        let outputs = &lib.manifest.outputs;
        if outputs.len() != net.outputs() {
            return Err(ControlError::Joints(format!(
                "library lists {} outputs but its network has {}",
                outputs.len(),
                net.outputs()
            )));
        }
        let names: Vec<String> = if config.joint_names.is_empty() {
            outputs.clone()
        } else {
            config.joint_names.clone()
        };
        if names.len() != outputs.len() {
            return Err(ControlError::Joints(format!(
                "joint_names has {} entries {:?}; the library drives {} joints {:?}",
                names.len(),
                names,
                outputs.len(),
                outputs
            )));
        }
        let mut limits = JointLimits::from_arm(arm, &config.joint_limits, &names, 1.0)?;
        let full_velocity = limits.velocity;
        limits.scale_velocity(&full_velocity, config.velocity_limit_scale);
        let mut perm = [0usize; MAX_JOINTS];
        for (i, name) in names.iter().enumerate() {
            perm[i] = outputs.iter().position(|o| o == name).ok_or_else(|| {
                ControlError::Joints(format!(
                    "joint `{name}` is not an output of the library (outputs {outputs:?})"
                ))
            })?;
            if names[..i].contains(name) {
                return Err(ControlError::Joints(format!(
                    "joint `{name}` is listed twice"
                )));
            }
        }
        if net.motifs.len() > usize::from(u16::MAX) {
            return Err(ControlError::Joints("too many motifs".into()));
        }
        if !(config.period.is_finite() && config.period > 0.0) {
            return Err(ControlError::Joints(format!(
                "loop period {} s is not positive",
                config.period
            )));
        }
        let supervisor = match &config.supervision {
            None => None,
            Some(s) => Some(Supervisor::new(
                supervision_config(s, limits.len)?,
                limits.len,
            )),
        };
        let dt = f64::from(net.dt);
        let tau = f64::from(net.tau);
        let prep_steps = if config.preparation_tau > 0.0 {
            (config.preparation_tau * tau / dt).round().max(1.0) as u32
        } else {
            net.prep.steps.max(1) as u32
        };
        let n = limits.len;
        let mut c = Self {
            state: State::new(&net),
            y_net: Array1::zeros(net.outputs()),
            perm,
            joint_names: names,
            limits,
            seq: Sequencer::new(config.speed),
            speed: SpeedProfile::new(config.speed),
            stop_time: config.stop_time,
            dt,
            tau,
            prep_steps,
            rest: [0.0; MAX_JOINTS],
            start_posture: Vec::new(),
            speed_caps: Vec::new(),
            motif_peaks: Vec::new(),
            full_velocity,
            activity: Activity::Rest,
            k: 0,
            total: 0,
            prep: PrepPlan {
                alpha: net.alpha(),
                stretch: 1.0,
                gate_steps: 1,
                from: Dynamics::Still,
            },
            offset: [0.0; MAX_JOINTS],
            spline: Spline::through(&JointState3::at_rest([0.0; MAX_JOINTS]), dt, n),
            labels: [Activity::Rest; 4],
            tracker: Tracker::new(&limits, config.period, &[0.0; MAX_JOINTS]),
            waiting: supervisor.is_some(),
            pending: None,
            measured: None,
            supervisor,
            last_t: None,
            phase_started: 0.0,
            published: None,
            ticks: 0,
            network_steps: 0,
            prep_residual: None,
            fault: None,
            faults: 0,
            limited_ticks: 0,
            net,
        };
        c.characterise_motifs()?;
        // Rest: the network with no activity, which the trained readout maps
        // near the mean posture of the demonstrations.
        c.state.x.fill(0.0);
        let mut rest = [0.0; MAX_JOINTS];
        if !c.network_posture(&mut rest) {
            return Err(ControlError::Joints("rest posture is not finite".into()));
        }
        let l = &c.limits;
        for ((r, lo), hi) in rest.iter_mut().zip(&l.lower).zip(&l.upper).take(n) {
            *r = r.clamp(*lo, *hi);
        }
        c.rest = rest;
        c.start_at(&rest);
        Ok(c)
    }

    /// Start posture and speed cap of every motif, from the network run
    /// from its initial state (what the controller will play).
    fn characterise_motifs(&mut self) -> Result<(), ControlError> {
        let n = self.joint_count();
        for m in 0..self.net.motifs.len() {
            self.state.x.assign(&self.net.motifs[m].x_init);
            let mut y = [0.0; MAX_JOINTS];
            if !self.network_posture(&mut y) {
                return Err(ControlError::Joints(format!(
                    "motif `{}` starts at a non-finite posture",
                    self.net.motifs[m].name
                )));
            }
            self.start_posture.push(y);
            // Peak |Δ¹|, |Δ²|, |Δ³| of the samples over dt^k bound the
            // B-spline's velocity, acceleration and jerk at speed 1; only
            // differences of the motif's own samples count (the step into
            // the motif is the preparation's business).
            let mut hist = [y; 4];
            let mut peaks = [[0.0f64; 3]; MAX_JOINTS];
            let dt = self.dt;
            for k in 0..self.net.motifs[m].steps {
                self.state.step_motif(&self.net, m);
                let mut p = [0.0; MAX_JOINTS];
                if !self.network_posture(&mut p) {
                    return Err(ControlError::Joints(format!(
                        "motif `{}` produces a non-finite posture",
                        self.net.motifs[m].name
                    )));
                }
                hist.copy_within(1..4, 0);
                hist[3] = p;
                for j in 0..n {
                    let [a, b, c, d] = [hist[0][j], hist[1][j], hist[2][j], hist[3][j]];
                    let diffs = [d - c, d - 2.0 * c + b, d - 3.0 * c + 3.0 * b - a];
                    for (o, diff) in diffs.iter().enumerate() {
                        if k >= SETTLE_STEPS {
                            peaks[j][o] = peaks[j][o].max(diff.abs() / dt.powi(o as i32 + 1));
                        }
                    }
                }
            }
            self.speed_caps.push(self.limits.speed_cap(&peaks[..n]));
            self.motif_peaks.push(peaks);
        }
        Ok(())
    }

    /// Uses `scale` of each joint's velocity limit from now on: the
    /// tracker's limit and the motifs' speed caps follow (a lower cap ramps
    /// the effective speed down as any cap does; while it ramps the tracker
    /// brakes within the acceleration and jerk limits, as Ruckig does when
    /// a state starts beyond a new limit).
    fn set_velocity_scale(&mut self, scale: f64) {
        let n = self.joint_count();
        self.limits.scale_velocity(&self.full_velocity, scale);
        self.tracker.set_velocity_limits(&self.limits);
        for (cap, peaks) in self.speed_caps.iter_mut().zip(&self.motif_peaks) {
            *cap = self.limits.speed_cap(&peaks[..n]);
        }
    }

    /// Joints commanded.
    pub fn joint_count(&self) -> usize {
        self.limits.len
    }

    pub fn joint_names(&self) -> &[String] {
        &self.joint_names
    }

    pub fn limits(&self) -> &JointLimits {
        &self.limits
    }

    /// Network steps taken since start (all activities).
    pub fn network_steps(&self) -> u64 {
        self.network_steps
    }

    /// Nominal preparation length in network steps (before stretching).
    pub fn prep_steps(&self) -> u32 {
        self.prep_steps
    }

    pub fn rest_posture(&self) -> &[f64] {
        &self.rest[..self.joint_count()]
    }

    /// Ticks on which the tracker found no new plan and followed its last one.
    pub fn tracker_failures(&self) -> u64 {
        self.tracker.failures()
    }

    /// The highest speed at which motif `m` keeps its shape within the limits.
    pub fn speed_cap(&self, m: usize) -> f64 {
        self.speed_caps[m]
    }

    /// The last commanded posture.
    pub fn posture(&self) -> [f64; MAX_JOINTS] {
        self.tracker.state().position
    }

    pub fn phase(&self) -> Phase {
        if self.waiting {
            return Phase::Waiting;
        }
        if self.tracker.stopping() {
            return Phase::Holding;
        }
        match self.labels[1] {
            Activity::Rest => Phase::Idle,
            Activity::Hold => Phase::Holding,
            _ if self.seq.stopping() => Phase::Stopping,
            Activity::Prep { .. } => Phase::Preparing,
            Activity::Motif { .. } => Phase::Executing,
        }
    }

    fn motif(&self) -> Option<u16> {
        match self.labels[1] {
            Activity::Prep { motif } | Activity::Motif { motif } => Some(motif),
            _ => None,
        }
    }

    fn moving(&self) -> bool {
        matches!(
            self.activity,
            Activity::Prep { .. } | Activity::Motif { .. }
        )
    }

    /// Applies a command at the time of the last tick.
    pub fn command(&mut self, cmd: Command) -> Result<(), RejectReason> {
        if let Command::VelocityScale(scale) = cmd {
            self.set_velocity_scale(scale);
            return Ok(());
        }
        if self.waiting && cmd == Command::Stop {
            // Nothing moves yet; the motif parked for the first measurement
            // must not start when it comes.
            self.pending = None;
        }
        let moving = self.moving() && !self.waiting;
        self.seq.command(cmd, moving).map(|action| match action {
            Action::Prepare(m) if self.waiting => self.pending = Some(m),
            Action::Prepare(m) => {
                // A new motion clears a fault: the operator has seen it.
                self.fault = None;
                if let Some(s) = &mut self.supervisor {
                    s.clear();
                }
                self.start_prep(m);
            }
            Action::Hold if self.waiting => self.pending = None,
            Action::Hold => self.brake_to_hold(),
            Action::Stop | Action::Nothing => {}
        })
    }

    /// The robot's measured joint positions (configured order), as of the
    /// next tick. The first one ends the wait and is where motion starts.
    pub fn measure(&mut self, positions: &[f64; MAX_JOINTS]) {
        if self.supervisor.is_none() {
            return;
        }
        if self.waiting {
            let mut q = *positions;
            let l = &self.limits;
            for j in 0..l.len {
                // A robot resting on a limit may read a hair beyond it; the
                // tracker must start inside.
                q[j] = q[j].clamp(l.lower[j], l.upper[j]);
            }
            self.waiting = false;
            self.start_at(&q);
            if let Some(m) = self.pending.take() {
                self.start_prep(m);
            }
        }
        self.measured = Some(*positions);
    }

    /// Standing still at `q`: network at rest, offset bridging the two.
    fn start_at(&mut self, q: &[f64; MAX_JOINTS]) {
        let n = self.joint_count();
        self.state.x.fill(0.0);
        let rest = JointState3::at_rest(*q);
        self.tracker.reset(&rest);
        self.spline = Spline::through(&rest, self.dt, n);
        let mut y = [0.0; MAX_JOINTS];
        self.network_posture(&mut y);
        for j in 0..n {
            self.offset[j] = q[j] - y[j];
        }
        self.activity = Activity::Rest;
        self.labels = [Activity::Rest; 4];
    }

    /// Advances to controller time `t` (seconds, monotonic) and returns the
    /// commanded sample.
    pub fn tick(&mut self, t: f64) -> Sample {
        let dt_real = match self.last_t {
            Some(last) if t > last => t - last,
            _ => 0.0,
        };
        self.last_t = Some(t);
        self.ticks += 1;
        if self.waiting {
            return self.sample(t, &self.tracker.state());
        }
        self.supervise(t);

        let target = if self.seq.stopping() {
            0.0
        } else {
            match self.activity {
                Activity::Prep { motif } | Activity::Motif { motif } => {
                    self.seq.speed().min(self.speed_caps[usize::from(motif)])
                }
                _ => self.seq.speed(),
            }
        };
        let ramp = if self.seq.stopping() {
            self.stop_time
        } else {
            SPEED_RAMP_TIME
        };
        self.speed.head_for(target, ramp);
        let speed = self.speed.advance(dt_real);
        if self.seq.stopping() && self.speed.halted() {
            // Motif time has stopped: hold where the reference stands.
            self.seq.halt();
            let here = self.spline.eval(0.0, self.joint_count()).position;
            self.spline = Spline::through(&JointState3::at_rest(here), self.dt, self.joint_count());
            self.rebase_offset();
            self.activity = Activity::Hold;
            self.labels = [Activity::Hold; 4];
        }

        self.spline.u += dt_real * speed / self.dt;
        let mut budget = MAX_CATCH_UP;
        while self.spline.u >= 1.0 && budget > 0 {
            self.spline.u -= 1.0;
            budget -= 1;
            self.step();
        }
        // A stall beyond the budget delays the motif instead.
        self.spline.u = self.spline.u.min(1.0 - f64::EPSILON);

        let reference = self
            .spline
            .eval(self.speed.value() / self.dt, self.joint_count());
        let cmd = self.tracker.step(&reference);
        if !self.tracker.stopping()
            && (0..self.joint_count())
                .any(|j| (cmd.position[j] - reference.position[j]).abs() > LIMITED_EPS)
        {
            self.limited_ticks += 1;
        }
        if self.tracker.stopping() && self.tracker.stopped() {
            // The stop is done: hold here, network frozen, ready to resume.
            let rest = JointState3::at_rest(cmd.position);
            self.tracker.reset(&rest);
            self.spline = Spline::through(&rest, self.dt, self.joint_count());
            self.rebase_offset();
        }
        self.sample(t, &cmd)
    }

    fn sample(&mut self, t: f64, s: &JointState3) -> Sample {
        let label = (self.phase(), self.motif());
        if self.published != Some(label) {
            self.published = Some(label);
            self.phase_started = t;
        }
        Sample {
            seq: self.ticks,
            t,
            len: self.joint_count(),
            position: s.position,
            velocity: s.velocity,
            acceleration: s.acceleration,
            phase: label.0,
            motif: label.1,
            prep_residual: self.prep_residual.filter(|_| label.0 == Phase::Preparing),
        }
    }

    fn supervise(&mut self, t: f64) {
        let commanded = self.tracker.state().position;
        let measured = self.measured.take();
        let lost_already = self
            .fault
            .is_some_and(|f| f.fault == FaultCode::JointStatesLost);
        let Some(sup) = &mut self.supervisor else {
            return;
        };
        let mut trip = measured.and_then(|m| sup.measured(t, &m, &commanded));
        if !lost_already {
            trip = trip.or_else(|| sup.check_age(t));
        }
        let Some(trip) = trip else {
            return;
        };
        sup.clear();
        // A persisting condition trips again only when it would stop motion.
        if self.fault.is_none_or(|f| f.fault != trip.fault) || self.moving() {
            self.fault = Some(trip);
            self.faults += 1;
            self.seq.halt();
            self.brake_to_hold();
        }
    }

    /// One network step of the current activity; its sample joins the spline.
    fn step(&mut self) {
        let mut label = self.activity;
        match self.activity {
            Activity::Rest | Activity::Hold => {}
            Activity::Prep { motif } => {
                let p = self.prep;
                let g = smoothstep((self.k + 1) as f32 / p.gate_steps.max(1) as f32);
                self.state
                    .step_blend(&self.net, p.from, usize::from(motif), p.alpha, g);
                self.prep_residual = Some(
                    self.state
                        .distance_to(&self.net.motifs[usize::from(motif)].x_init),
                );
                let decay = 1.0 - f64::from(p.alpha * g);
                self.offset.iter_mut().for_each(|o| *o *= decay);
                self.k += 1;
                if self.k >= self.total {
                    self.activity = Activity::Motif { motif };
                    self.k = 0;
                    self.total = self.net.motifs[usize::from(motif)].steps as u32;
                }
            }
            Activity::Motif { motif } => {
                self.state.step_motif(&self.net, usize::from(motif));
                let decay = 1.0 - f64::from(self.net.alpha());
                self.offset.iter_mut().for_each(|o| *o *= decay);
                self.k += 1;
                if self.k >= self.total {
                    self.seq.motif_finished();
                    match self.seq.next_motif() {
                        Some(next) => {
                            let from = *self.spline.newest();
                            let rate = self.speed.value() / self.dt;
                            let mut v = [0.0; MAX_JOINTS];
                            for j in 0..self.joint_count() {
                                v[j] = (self.spline.points[3][j] - self.spline.points[2][j]) * rate;
                            }
                            self.plan_prep(next, &from, &v, Dynamics::Motif(usize::from(motif)));
                        }
                        None => self.activity = Activity::Hold,
                    }
                }
            }
        }
        // A frozen network (rest, hold) repeats the last sample, so the
        // spline settles on it; only a step that moved is read out.
        let mut y = *self.spline.newest();
        if matches!(label, Activity::Prep { .. } | Activity::Motif { .. }) {
            self.network_steps += 1;
            let mut out = [0.0; MAX_JOINTS];
            if self.network_posture(&mut out) {
                for j in 0..self.joint_count() {
                    y[j] = out[j] + self.offset[j];
                }
            } else {
                self.fault = Some(Trip {
                    fault: FaultCode::NonFiniteOutput,
                    joint: None,
                });
                self.faults += 1;
                self.seq.halt();
                self.brake_to_hold();
                label = Activity::Hold;
            }
        }
        self.spline.push(&y);
        self.labels.copy_within(1..4, 0);
        self.labels[3] = label;
    }

    /// A motion command: prepare `m` from the commanded state, whatever
    /// the network was doing.
    fn start_prep(&mut self, m: u16) {
        if self.state.x.iter().any(|x| !x.is_finite()) {
            // After a fault the state is unusable; restart from rest.
            self.state.x.fill(0.0);
        }
        let from = match self.activity {
            Activity::Motif { motif } => Dynamics::Motif(usize::from(motif)),
            Activity::Prep { motif } => Dynamics::Prep(usize::from(motif), self.prep.alpha),
            Activity::Rest | Activity::Hold => Dynamics::Still,
        };
        let from = if self.tracker.stopping() {
            // Braking: the outgoing dynamics no longer drive the arm.
            Dynamics::Still
        } else {
            from
        };
        let st = self.tracker.state();
        self.tracker.reset(&st);
        let speed = self.speed.value();
        let h = if speed > 0.0 { self.dt / speed } else { 0.0 };
        self.spline = Spline::through(&st, h, self.joint_count());
        self.rebase_offset();
        self.labels = [Activity::Prep { motif: m }; 4];
        self.plan_prep(m, &st.position, &st.velocity, from);
    }

    /// The offset that makes the network's next sample continue from the
    /// spline's newest point.
    fn rebase_offset(&mut self) {
        let mut y = [0.0; MAX_JOINTS];
        if self.network_posture(&mut y) {
            for j in 0..self.joint_count() {
                self.offset[j] = self.spline.points[3][j] - y[j];
            }
        }
    }

    /// Times the preparation toward `m` from posture `from` moving at `v`.
    fn plan_prep(
        &mut self,
        m: u16,
        from: &[f64; MAX_JOINTS],
        v: &[f64; MAX_JOINTS],
        dynamics: Dynamics,
    ) {
        let n = self.joint_count();
        let to = self.start_posture[usize::from(m)];
        let speed = self
            .seq
            .speed()
            .min(self.speed_caps[usize::from(m)])
            .max(1e-3);
        let stretch = self
            .limits
            .prep_stretch(&from[..n], &to[..n], self.tau, speed)
            .min(MAX_STRETCH);
        let mut v_to = [0.0; MAX_JOINTS];
        for j in 0..n {
            v_to[j] = (to[j] - from[j]) * speed / (self.tau * stretch);
        }
        let blend = self.limits.blend_time(&v[..n], &v_to[..n]).min(MAX_BLEND);
        let gate_steps = ((blend * speed / self.dt).ceil() as u32).max(1);
        self.prep = PrepPlan {
            alpha: self.net.alpha() / stretch as f32,
            stretch,
            gate_steps,
            from: dynamics,
        };
        self.total = (f64::from(self.prep_steps) * stretch).ceil() as u32 + gate_steps / 2;
        self.activity = Activity::Prep { motif: m };
        self.k = 0;
    }

    /// Brake to a standstill (jerk-limited, time-optimal) and hold there.
    fn brake_to_hold(&mut self) {
        self.activity = Activity::Hold;
        self.labels = [Activity::Hold; 4];
        self.tracker.stop();
    }

    /// Current network output in physical units and configured joint order;
    /// `false` if any value is not finite.
    fn network_posture(&mut self, out: &mut [f64; MAX_JOINTS]) -> bool {
        self.state.output(&self.net, &mut self.y_net.view_mut());
        let s = &self.net.scaling;
        let mut finite = true;
        for (o, &j) in out.iter_mut().zip(&self.perm).take(self.limits.len) {
            let y = f64::from(s.offset[j]) + f64::from(s.scale[j]) * f64::from(self.y_net[j]);
            finite &= y.is_finite();
            *o = y;
        }
        finite
    }

    /// Brake to a hold now (shutdown, watchdog).
    pub fn hold(&mut self) {
        self.seq.halt();
        self.pending = None;
        if !self.waiting {
            self.brake_to_hold();
        }
    }

    /// A `Copy` view for status messages; timing is filled in by the loop.
    pub fn snapshot(&self) -> StatusSnapshot {
        let progress = match self.activity {
            Activity::Prep { .. } | Activity::Motif { .. } if self.total > 0 => {
                (f64::from(self.k) / f64::from(self.total)).clamp(0.0, 1.0)
            }
            _ => 0.0,
        };
        let motif = self.motif();
        StatusSnapshot {
            t: self.last_t.unwrap_or(0.0),
            phase: self.phase(),
            motif,
            progress,
            phase_started: self.phase_started,
            prep_stretch: self.prep.stretch,
            queue: *self.seq.queue(),
            speed: self.seq.speed(),
            effective_speed: self.speed.value(),
            speed_cap: motif.map(|m| self.speed_caps[usize::from(m)]),
            fault: self.fault.map(|f| f.fault),
            fault_joint: self.fault.and_then(|f| f.joint),
            faults: self.faults,
            limited_ticks: self.limited_ticks,
            tracking_error: self.supervisor.as_ref().map(|s| {
                s.error[..self.joint_count()]
                    .iter()
                    .copied()
                    .fold(0.0, f64::max)
            }),
            enqueued: self.seq.enqueued(),
            motif_seq: if self.moving() {
                self.seq.current()
            } else {
                None
            },
            finished: self.seq.finished(),
            loop_fault: None,
            timing: Default::default(),
        }
    }

    /// Motifs ever queued: a run or append that was just accepted queued
    /// the sequence numbers up to this one (see [`StatusSnapshot::enqueued`]).
    pub fn enqueued(&self) -> u64 {
        self.seq.enqueued()
    }

    /// Test hook: corrupt the network state to exercise the non-finite guard.
    #[doc(hidden)]
    pub fn inject_nan_for_test(&mut self) {
        self.state.x.fill(f32::NAN);
    }
}

fn smoothstep(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

fn supervision_config(
    s: &SupervisionSettings,
    n: usize,
) -> Result<SupervisionConfig, ControlError> {
    let bad = |m: String| ControlError::InvalidParam {
        name: "path_tolerance",
        message: m,
    };
    let mut tol = [0.0; MAX_JOINTS];
    match s.path_tolerance.len() {
        1 => tol[..n].fill(s.path_tolerance[0]),
        k if k == n => tol[..n].copy_from_slice(&s.path_tolerance),
        k => {
            return Err(bad(format!(
                "{k} values; give one for every joint or one per joint ({n})"
            )))
        }
    }
    if tol[..n].iter().any(|t| !(t.is_finite() && *t >= 0.0)) {
        return Err(bad("values must be finite and ≥ 0 (0 = unchecked)".into()));
    }
    Ok(SupervisionConfig {
        path_tolerance: tol,
        window: s.window,
        timeout: s.timeout,
    })
}
