//! The fixed-rate loop on its own thread.
//!
//! Absolute deadlines (`start + k·period`) so errors never accumulate; each
//! wait sleeps until `spin` before the deadline, then spins, because a plain
//! sleep wakes tens of µs late. Commands come in and samples go out through
//! bounded channels with `try_recv`/`try_send` only: the loop never waits on
//! anything the transport holds.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::{
    commands::Command,
    controller::Controller,
    error::ControlError,
    realtime::{self, RealtimeConfig, Scheduling},
    sample::Sample,
    sequencer::{FaultCode, Phase, RejectReason},
    status::StatusSnapshot,
    timing::{TimingStats, TimingSummary},
};

/// Commands applied per tick at most, so a flood cannot stretch a tick.
const MAX_COMMANDS_PER_TICK: usize = 4;

#[derive(Debug, Clone, Copy)]
pub struct LoopConfig {
    pub period: Duration,
    /// Busy-wait this long before each deadline (zero = plain sleep).
    pub spin: Duration,
    pub status_period: Duration,
    /// A tick that starts later than this is a watchdog trip.
    pub watchdog: Duration,
    /// SCHED_FIFO, locked memory, CPU pinning for the loop thread.
    pub realtime: RealtimeConfig,
}

/// A command for the loop, with the id that status echoes back.
#[derive(Debug, Clone, Copy)]
pub struct LoopInput {
    pub id: u64,
    pub command: Command,
}

/// The loop's verdict on the command with this id.
/// A command's id and what became of it: accepted with the controller's
/// [`Controller::enqueued`] count after it (a run or append of `n` motifs
/// queued the sequence numbers `count - n .. count`), or rejected.
pub type CommandOutcome = (u64, Result<u64, RejectReason>);

/// The robot's measured joint positions, mapped to the configured joint
/// order on the transport side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub position: [f64; crate::control::MAX_JOINTS],
}

/// The loop's ends of its bounded channels.
pub struct LoopChannels {
    pub commands: Receiver<LoopInput>,
    /// The newest waiting measurement is used each tick; older ones are dropped.
    pub measured: Receiver<Measured>,
    pub samples: Sender<Sample>,
    pub status: Sender<StatusSnapshot>,
    /// One outcome per command handled, so every sender learns its own
    /// (a status snapshot shows only one command and comes 10× a second).
    pub outcomes: Sender<CommandOutcome>,
}

pub struct LoopHandle {
    flags: Arc<Flags>,
    epoch: SystemTime,
    thread: Option<JoinHandle<LoopReport>>,
}

/// Shared between the handle and the loop thread.
struct Flags {
    stop: AtomicBool,
    /// Ticks done so far.
    heartbeat: AtomicU64,
}

/// What the loop returns when it stops.
#[derive(Debug, Clone, Copy)]
pub struct LoopReport {
    pub timing: TimingSummary,
    pub final_status: StatusSnapshot,
    pub final_sample: Sample,
}

impl LoopHandle {
    /// Wall-clock time of controller time 0, for message stamps.
    pub fn epoch(&self) -> SystemTime {
        self.epoch
    }

    /// Ticks done so far; a value that stops changing means a stalled loop.
    pub fn heartbeat(&self) -> u64 {
        self.flags.heartbeat.load(Ordering::Relaxed)
    }

    /// Asks the loop to hold its posture and end, and waits for it.
    pub fn stop(mut self) -> Result<LoopReport, ControlError> {
        self.flags.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .ok_or_else(|| ControlError::Thread("already stopped".into()))?
            .join()
            .map_err(|_| ControlError::Thread("control loop panicked".into()))
    }
}

impl Drop for LoopHandle {
    fn drop(&mut self) {
        self.flags.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits until `deadline`: sleep to `deadline − spin`, then spin.
pub fn wait_until(deadline: Instant, spin: Duration) {
    let now = Instant::now();
    if deadline <= now {
        return;
    }
    let left = deadline - now;
    if left > spin {
        std::thread::sleep(left - spin);
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

/// Starts the loop on its own thread. The thread first takes the real-time
/// scheduling `config.realtime` asks for; each refusal is logged here as
/// one warning with its fix, and the loop runs on with what it got.
pub fn spawn_loop(
    mut controller: Controller,
    config: LoopConfig,
    channels: LoopChannels,
) -> Result<LoopHandle, ControlError> {
    let flags = Arc::new(Flags {
        stop: AtomicBool::new(false),
        heartbeat: AtomicU64::new(0),
    });
    let flags2 = Arc::clone(&flags);
    let (epoch_tx, epoch_rx) = crossbeam_channel::bounded(1);
    let thread = std::thread::Builder::new()
        .name("control-loop".into())
        .spawn(move || {
            let (scheduling, warnings) = realtime::apply(&config.realtime);
            // Controller time 0 and its wall-clock time, read together on this
            // thread: stamps derived from them are then exact, whatever the
            // thread's start-up delay.
            let start = Instant::now();
            let _ = epoch_tx.send((SystemTime::now(), scheduling, warnings));
            run(
                &mut controller,
                start,
                config,
                scheduling,
                &channels,
                &flags2,
            )
        })
        .map_err(|e| ControlError::Thread(format!("spawn: {e}")))?;
    let (epoch, scheduling, warnings) = epoch_rx
        .recv()
        .map_err(|_| ControlError::Thread("the loop thread exited at start".into()))?;
    for w in warnings {
        tracing::warn!("control loop: {w}");
    }
    tracing::info!(
        "control loop scheduling: {scheduling} (kernel preemption: {})",
        realtime::kernel_preemption()
    );
    Ok(LoopHandle {
        flags,
        epoch,
        thread: Some(thread),
    })
}

fn run(
    ctl: &mut Controller,
    start: Instant,
    config: LoopConfig,
    scheduling: Scheduling,
    ch: &LoopChannels,
    flags: &Flags,
) -> LoopReport {
    let (commands, samples, status) = (&ch.commands, &ch.samples, &ch.status);
    let mut stats = TimingStats {
        scheduling,
        ..TimingStats::default()
    };
    let mut k: u64 = 0;
    let mut next_status = start;
    let mut loop_fault = None;
    // Tick 0 at controller time 0 so the first real tick has a time step.
    let _ = samples.try_send(ctl.tick(0.0));
    while !flags.stop.load(Ordering::Relaxed) {
        k += 1;
        let Some(deadline) = deadline_at(start, config.period, k) else {
            break;
        };
        wait_until(deadline, config.spin);
        let woke = Instant::now();
        let late = woke.saturating_duration_since(deadline);

        for _ in 0..MAX_COMMANDS_PER_TICK {
            match commands.try_recv() {
                Ok(LoopInput { id, command: cmd }) => {
                    let result = ctl.command(cmd).map(|()| ctl.enqueued());
                    // Full only if the node stopped draining; the sender
                    // then reports no answer rather than a wrong one.
                    let _ = ch.outcomes.try_send((id, result));
                }
                Err(_) => break,
            }
        }
        if let Some(m) = ch.measured.try_iter().last() {
            ctl.measure(&m.position);
        }
        // Computed for its deadline, not for the wake-up: the stream is one
        // sample per period, which is how a driver executes it, and the
        // reference the tracker chases must not jitter with the wake-up
        // (a late wake read the reference up to a period ahead, so under
        // load the jerk-limited tracker chased a target jumping back and
        // forth and fell 0.07 rad behind).
        let sample = ctl.tick((deadline - start).as_secs_f64());
        if let Err(TrySendError::Full(_)) = samples.try_send(sample) {
            stats.samples_dropped += 1;
        }
        if woke >= next_status {
            let mut snap = ctl.snapshot();
            snap.loop_fault = loop_fault;
            snap.timing = stats.summary();
            let _ = status.try_send(snap);
            next_status = woke + config.status_period;
        }

        stats.ticks += 1;
        stats.lateness.record(late);
        stats.compute.record(woke.elapsed());
        flags.heartbeat.store(stats.ticks, Ordering::Relaxed);
        if late > config.watchdog {
            stats.watchdog_trips += 1;
            loop_fault = Some(FaultCode::LoopOverrun);
        }
        if late >= config.period {
            // Skip the deadlines already missed instead of bursting through
            // them: motif time comes from the clock, so nothing is lost.
            stats.overruns += 1;
            let skipped = (late.as_nanos() / config.period.as_nanos().max(1)) as u64;
            stats.deadlines_skipped += skipped;
            k += skipped;
        }
    }
    // A jerk-limited stop, ticked out at the loop rate: ending with a
    // frozen command while the arm moves is what faults a real robot.
    ctl.hold();
    let mut final_sample = None;
    while let Some(deadline) = deadline_at(start, config.period, k + 1) {
        k += 1;
        wait_until(deadline, config.spin);
        let s = ctl.tick((deadline - start).as_secs_f64());
        if samples.try_send(s).is_err() {
            stats.samples_dropped += 1;
        }
        final_sample = Some(s);
        if s.phase != Phase::Holding || s.velocities().iter().all(|v| *v == 0.0) {
            break;
        }
    }
    // Only a deadline beyond `Instant`'s range ends the stop without a tick.
    let final_sample =
        final_sample.unwrap_or_else(|| ctl.tick(k as f64 * config.period.as_secs_f64()));
    let mut final_status = ctl.snapshot();
    final_status.loop_fault = loop_fault;
    final_status.timing = stats.summary();
    let _ = status.try_send(final_status);
    LoopReport {
        timing: final_status.timing,
        final_status,
        final_sample,
    }
}

fn deadline_at(start: Instant, period: Duration, k: u64) -> Option<Instant> {
    let ns = period.as_nanos().checked_mul(u128::from(k))?;
    start.checked_add(Duration::from_nanos(u64::try_from(ns).ok()?))
}
