//! The control core: one [`Controller::tick`] per loop period.
//!
//! The network runs at its own step `dt` (e.g. 4 ms) while the loop runs
//! faster (e.g. 1 kHz). Activity time advances from the clock (times the
//! speed factor); whenever it crosses a network step the network is stepped,
//! catching up if the tick was late, and the output is interpolated linearly
//! between the last two network outputs. The network is one step ahead of the
//! commanded posture, which is what makes interpolation possible.
//!
//! Nothing in `tick` or `command` allocates; buffers are sized in `new`.

use ndarray::Array1;

use super::{
    commands::Command,
    error::ControlError,
    limits::JointLimits,
    params::Params,
    sample::{Sample, MAX_JOINTS},
    sequencer::{Action, FaultCode, Phase, RejectReason, Sequencer},
    status::StatusSnapshot,
};
use crate::{
    library::Library,
    model::{Network, State},
    robot::ArmModel,
};

/// Network steps one tick may catch up; beyond that (a stall of hundreds of
/// ms) the motif is delayed rather than making one tick arbitrarily long.
const MAX_CATCH_UP: u32 = 64;
/// Longest stretch of a preparation (in multiples of its nominal length).
const MAX_STRETCH: f64 = 50.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Activity {
    /// Initial rest posture, network at rest.
    Rest,
    Prep {
        motif: u16,
    },
    Motif {
        motif: u16,
    },
    Hold,
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
    dt: f64,
    tau: f64,
    prep_steps: u32,
    rest: [f64; MAX_JOINTS],
    start_posture: Vec<[f64; MAX_JOINTS]>,

    activity: Activity,
    /// Output at the start and end of the current network step interval.
    y_a: [f64; MAX_JOINTS],
    y_b: [f64; MAX_JOINTS],
    /// Network steps taken in the current activity; `y_b` is after step `k`.
    k: u32,
    total: u32,
    prep_alpha: f32,
    stretch: f64,
    /// Activity time (s), scaled by speed.
    phase_time: f64,
    phase_started: f64,

    q: [f64; MAX_JOINTS],
    v: [f64; MAX_JOINTS],
    last_t: Option<f64>,
    ticks: u64,
    network_steps: u64,
    fault: Option<FaultCode>,
    faults: u64,
    limited_ticks: u64,
    last_command: Option<(u64, Result<(), RejectReason>)>,
}

impl Controller {
    pub fn new(lib: &Library, arm: &ArmModel, params: &Params) -> Result<Self, ControlError> {
        params.validate()?;
        let net = lib.network.clone();
        let outputs = &lib.manifest.outputs;
        if outputs.len() != net.outputs() {
            return Err(ControlError::Joints(format!(
                "library lists {} outputs but its network has {}",
                outputs.len(),
                net.outputs()
            )));
        }
        let names: Vec<String> = if params.joint_names.is_empty() {
            outputs.clone()
        } else {
            params.joint_names.clone()
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
        let mut perm = [0usize; MAX_JOINTS];
        let limits = JointLimits::from_arm(arm, &names, params.velocity_limit_scale)?;
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
        let dt = f64::from(net.dt);
        let tau = f64::from(net.tau);
        let prep_steps = if params.preparation_tau > 0.0 {
            (params.preparation_tau * tau / dt).round().max(1.0) as u32
        } else {
            net.prep.steps.max(1) as u32
        };
        let mut c = Self {
            state: State::new(&net),
            y_net: Array1::zeros(net.outputs()),
            perm,
            joint_names: names,
            limits,
            seq: Sequencer::new(params.speed, params.stop_time),
            dt,
            tau,
            prep_steps,
            rest: [0.0; MAX_JOINTS],
            start_posture: Vec::new(),
            activity: Activity::Rest,
            y_a: [0.0; MAX_JOINTS],
            y_b: [0.0; MAX_JOINTS],
            k: 0,
            total: 0,
            prep_alpha: net.alpha(),
            stretch: 1.0,
            phase_time: 0.0,
            phase_started: 0.0,
            q: [0.0; MAX_JOINTS],
            v: [0.0; MAX_JOINTS],
            last_t: None,
            ticks: 0,
            network_steps: 0,
            fault: None,
            faults: 0,
            limited_ticks: 0,
            last_command: None,
            net,
        };
        let mut postures = Vec::with_capacity(c.net.motifs.len());
        for m in 0..c.net.motifs.len() {
            c.state.x.assign(&c.net.motifs[m].x_init);
            let mut p = [0.0; MAX_JOINTS];
            c.network_posture(&mut p);
            postures.push(p);
        }
        c.start_posture = postures;
        // Rest: the network with no activity, which the trained readout maps
        // near the mean posture of the demonstrations.
        c.state.x.fill(0.0);
        let mut rest = [0.0; MAX_JOINTS];
        if !c.network_posture(&mut rest) {
            return Err(ControlError::Joints("rest posture is not finite".into()));
        }
        let l = &c.limits;
        for ((r, lo), hi) in rest.iter_mut().zip(&l.lower).zip(&l.upper).take(l.len) {
            *r = r.clamp(*lo, *hi);
        }
        c.rest = rest;
        c.q = rest;
        c.y_a = rest;
        c.y_b = rest;
        Ok(c)
    }

    pub fn len(&self) -> usize {
        self.limits.len
    }

    pub fn is_empty(&self) -> bool {
        self.limits.len == 0
    }

    pub fn joint_names(&self) -> &[String] {
        &self.joint_names
    }

    pub fn network(&self) -> &Network {
        &self.net
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
        &self.rest[..self.len()]
    }

    /// Posture at the first step of motif `m`, configured joint order.
    pub fn start_posture(&self, m: usize) -> &[f64] {
        &self.start_posture[m][..self.len()]
    }

    /// The last commanded posture.
    pub fn posture(&self) -> &[f64] {
        &self.q[..self.len()]
    }

    pub fn phase(&self) -> Phase {
        match self.activity {
            Activity::Rest => Phase::Idle,
            Activity::Hold => Phase::Holding,
            _ if self.seq.stopping() => Phase::Stopping,
            Activity::Prep { .. } => Phase::Preparing,
            Activity::Motif { .. } => Phase::Executing,
        }
    }

    fn motif(&self) -> Option<u16> {
        match self.activity {
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

    /// Applies a command at the time of the last tick. `id` is echoed in the
    /// status so the sender can match the outcome.
    pub fn command(&mut self, id: u64, cmd: Command) -> Result<(), RejectReason> {
        let result = self
            .seq
            .command(cmd, self.moving())
            .map(|action| match action {
                Action::Prepare(m) => {
                    let from = self.q;
                    self.start_prep(m, &from, 0.0);
                }
                Action::Hold => self.hold_at(self.q),
                Action::Stop | Action::Nothing => {}
            });
        self.last_command = Some((id, result));
        result
    }

    /// Records a command that never reached the controller (e.g. the channel
    /// was full), so status reports it like any other outcome.
    pub fn note_rejected(&mut self, id: u64, reason: RejectReason) {
        self.last_command = Some((id, Err(reason)));
    }

    /// Advances to controller time `t` (seconds, monotonic) and returns the
    /// commanded sample.
    pub fn tick(&mut self, t: f64) -> Sample {
        let dt_real = match self.last_t {
            Some(last) if t > last => t - last,
            _ => 0.0,
        };
        self.last_t = Some(t);
        let n = self.len();
        let mut raw = self.y_b;
        if self.moving() {
            let (speed, halted) = self.seq.tick_speed(dt_real);
            self.phase_time += dt_real * speed;
            self.advance(t, speed);
            if self.moving() {
                let frac = ((self.phase_time - f64::from(self.k.saturating_sub(1)) * self.dt)
                    / self.dt)
                    .clamp(0.0, 1.0);
                for ((r, a), b) in raw.iter_mut().zip(&self.y_a).zip(&self.y_b).take(n) {
                    *r = a + frac * (b - a);
                }
                if halted {
                    self.hold_at(raw);
                }
            } else {
                raw = self.y_b;
            }
        }
        let mut qn = [0.0; MAX_JOINTS];
        if self
            .limits
            .apply(&raw[..n], &self.q[..n], dt_real, &mut qn[..n])
        {
            self.limited_ticks += 1;
        }
        for ((v, new), old) in self.v.iter_mut().zip(&qn).zip(&self.q).take(n) {
            *v = if dt_real > 0.0 {
                (new - old) / dt_real
            } else {
                0.0
            };
        }
        self.q = qn;
        self.ticks += 1;
        Sample {
            seq: self.ticks,
            t,
            len: n,
            position: self.q,
            velocity: self.v,
            phase: self.phase(),
            motif: self.motif(),
        }
    }

    /// Steps the network over every step boundary the activity time crossed.
    fn advance(&mut self, t: f64, speed: f64) {
        let mut budget = MAX_CATCH_UP;
        while self.moving() && self.phase_time >= f64::from(self.k) * self.dt && budget > 0 {
            if self.k >= self.total {
                self.phase_time -= f64::from(self.total) * self.dt;
                let started = if speed > 0.0 {
                    t - self.phase_time / speed
                } else {
                    t
                };
                self.finish_activity(started);
                continue;
            }
            budget -= 1;
            self.y_a = self.y_b;
            self.step_network();
        }
    }

    fn step_network(&mut self) {
        match self.activity {
            Activity::Prep { motif } => {
                self.state
                    .step_prep(&self.net, usize::from(motif), self.prep_alpha)
            }
            Activity::Motif { motif } => self.state.step_motif(&self.net, usize::from(motif)),
            _ => return,
        }
        self.k += 1;
        self.network_steps += 1;
        let mut y = [0.0; MAX_JOINTS];
        if self.network_posture(&mut y) {
            self.y_b = y;
        } else {
            self.fault = Some(FaultCode::NonFiniteOutput);
            self.faults += 1;
            self.seq.halt();
            self.hold_at(self.q);
        }
    }

    fn finish_activity(&mut self, started: f64) {
        match self.activity {
            Activity::Prep { motif } => {
                self.activity = Activity::Motif { motif };
                self.total = self.net.motifs[usize::from(motif)].steps as u32;
                self.k = 0;
                self.phase_started = started;
                self.step_network();
            }
            Activity::Motif { .. } => match self.seq.next_motif() {
                Some(next) => {
                    let from = self.y_b;
                    let carry = self.phase_time;
                    self.start_prep(next, &from, carry);
                    self.phase_started = started;
                }
                None => self.hold_at(self.y_b),
            },
            _ => {}
        }
    }

    /// Starts the transition toward motif `m` from posture `from`, stretched
    /// in time so that its joint speeds respect the limits.
    fn start_prep(&mut self, m: u16, from: &[f64; MAX_JOINTS], carry: f64) {
        if self.state.x.iter().any(|x| !x.is_finite()) {
            // After a fault the state is unusable; restart from rest and let
            // the rate limit carry the posture over.
            self.state.x.fill(0.0);
        }
        let n = self.len();
        let s = self
            .limits
            .prep_stretch(
                &from[..n],
                &self.start_posture[usize::from(m)][..n],
                self.tau,
                self.seq.speed(),
            )
            .min(MAX_STRETCH);
        self.stretch = s;
        self.prep_alpha = self.net.alpha() / s as f32;
        self.total = (f64::from(self.prep_steps) * s).ceil() as u32;
        self.activity = Activity::Prep { motif: m };
        self.k = 0;
        self.phase_time = carry;
        self.phase_started = self.last_t.unwrap_or(0.0);
        self.y_b = *from;
        self.step_network();
        self.y_a = *from;
    }

    fn hold_at(&mut self, posture: [f64; MAX_JOINTS]) {
        self.activity = Activity::Hold;
        self.y_a = posture;
        self.y_b = posture;
        self.k = 0;
        self.total = 0;
        self.phase_time = 0.0;
        self.phase_started = self.last_t.unwrap_or(0.0);
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

    /// Stop now and hold the last commanded posture (shutdown, watchdog).
    pub fn hold(&mut self) {
        self.seq.halt();
        self.hold_at(self.q);
    }

    /// A `Copy` view for status messages; timing is filled in by the loop.
    pub fn snapshot(&self) -> StatusSnapshot {
        let progress = match self.activity {
            Activity::Prep { .. } | Activity::Motif { .. } if self.total > 0 => {
                (self.phase_time / (f64::from(self.total) * self.dt)).clamp(0.0, 1.0)
            }
            _ => 0.0,
        };
        StatusSnapshot {
            t: self.last_t.unwrap_or(0.0),
            phase: self.phase(),
            motif: self.motif(),
            progress,
            phase_started: self.phase_started,
            prep_stretch: self.stretch,
            queue: *self.seq.queue(),
            speed: self.seq.speed(),
            fault: self.fault,
            faults: self.faults,
            limited_ticks: self.limited_ticks,
            last_command: self.last_command,
            loop_fault: None,
            timing: Default::default(),
        }
    }

    /// Test hook: corrupt the network state to exercise the non-finite guard.
    #[doc(hidden)]
    pub fn inject_nan_for_test(&mut self) {
        self.state.x.fill(f32::NAN);
    }
}
