//! `~/play_motifs` goals (`motif_interfaces/action/PlayMotifs`) on top of
//! the loop's ordinary commands.
//!
//! A goal becomes the commands a user would type (`speed 0.8`,
//! `run a b c` or `append a b c`) and goes through the same parser and
//! queue as `~/sequence`, so the loop knows nothing of goals. The loop
//! numbers every motif it queues (`StatusSnapshot::enqueued`) and says
//! which one it is on (`motif_seq`) and how far it has played (`finished`);
//! the command's outcome says where the goal's motifs landed. From those
//! three numbers each status snapshot tells a goal's feedback, or its end:
//! all played (succeeded), or its motifs gone from the queue (a cancel's
//! stop, a newer goal or command, a fault).

use crate::{
    control::{CommandError, CommandParser, Phase, RejectReason, StatusSnapshot},
    ros::{
        action::{GoalEnd, GoalId, GoalUpdate},
        motif_interfaces::{PlayMotifsFeedback, PlayMotifsGoal, PlayMotifsResult},
    },
};

use super::status::wire_name;

pub type PlayUpdate = GoalUpdate<PlayMotifsFeedback, PlayMotifsResult>;

/// The commands a goal stands for, or why it is rejected (unknown motifs
/// with the known names, a speed outside the bounds, too many motifs).
pub fn goal_commands(
    goal: &PlayMotifsGoal,
    known: &[String],
    parser: &CommandParser,
) -> Result<Vec<String>, String> {
    if goal.motifs.is_empty() {
        return Err("the goal names no motifs".into());
    }
    // Each entry a whole name: the command text splits on spaces and
    // commas, so a name holding them must not turn into two known ones.
    // Unknown names are listed as a command's are (a few, shown safely).
    parser
        .queue_of(goal.motifs.iter().map(String::as_str))
        .map_err(|e| match e {
            CommandError::UnknownMotifs { .. } => {
                format!("{e}; the library has: {}", known.join(", "))
            }
            e => e.to_string(),
        })?;
    let mut commands = Vec::new();
    if goal.speed != 0.0 {
        commands.push(format!("speed {}", goal.speed));
    }
    let verb = if goal.append { "append" } else { "run" };
    commands.push(format!("{verb} {}", goal.motifs.join(" ")));
    for c in &commands {
        parser.parse(c).map_err(|e| e.to_string())?;
    }
    Ok(commands)
}

#[derive(Debug)]
struct Tracked {
    id: GoalId,
    motifs: Vec<String>,
    /// The id of the command that queued the motifs.
    command: u64,
    /// The motifs' sequence numbers, once the loop has placed them.
    range: Option<(u64, u64)>,
    canceling: bool,
}

/// The goals under way.
#[derive(Debug, Default)]
pub struct PlayGoals {
    goals: Vec<Tracked>,
    /// `finished` of the newest snapshot.
    finished: u64,
}

impl PlayGoals {
    /// A goal whose play command went to the loop as command `command`.
    /// One that replaces the queue preempts every goal before it.
    pub fn start(
        &mut self,
        id: GoalId,
        goal: &PlayMotifsGoal,
        command: u64,
        out: &mut Vec<PlayUpdate>,
    ) {
        if !goal.append {
            for g in std::mem::take(&mut self.goals) {
                let done = self.completed(&g);
                out.push(end(
                    g.id,
                    GoalEnd::Aborted,
                    done,
                    "preempted by a newer goal".into(),
                ));
            }
        }
        self.goals.push(Tracked {
            id,
            motifs: goal.motifs.clone(),
            command,
            range: None,
            canceling: false,
        });
    }

    /// A command's outcome from the loop: where a goal's motifs went, or why
    /// they were refused.
    pub fn outcome(
        &mut self,
        command: u64,
        result: Result<u64, RejectReason>,
        out: &mut Vec<PlayUpdate>,
    ) {
        let Some(i) = self.goals.iter().position(|g| g.command == command) else {
            return;
        };
        match result {
            Ok(enqueued) => {
                let n = self.goals[i].motifs.len() as u64;
                self.goals[i].range = Some((enqueued.saturating_sub(n), enqueued));
            }
            Err(r) => {
                let g = self.goals.remove(i);
                out.push(end(
                    g.id,
                    GoalEnd::Aborted,
                    0,
                    format!("the controller refused it: {}", r.message()),
                ));
            }
        }
    }

    /// A client asked to cancel `id`: `true` when the motion should stop
    /// (the goal is ours and under way).
    pub fn cancel(&mut self, id: GoalId) -> bool {
        match self.goals.iter_mut().find(|g| g.id == id) {
            Some(g) => {
                g.canceling = true;
                true
            }
            None => false,
        }
    }

    /// A goal that never reached the loop.
    pub fn refused(id: GoalId, reason: String) -> PlayUpdate {
        end(id, GoalEnd::Aborted, 0, reason)
    }

    /// Feedback for each goal under way, or its end.
    pub fn observe(&mut self, snap: &StatusSnapshot, out: &mut Vec<PlayUpdate>) {
        self.finished = snap.finished;
        let queue_start = snap.enqueued - snap.queue.len() as u64;
        let mut i = 0;
        while i < self.goals.len() {
            let g = &self.goals[i];
            let Some((a, b)) = g.range else {
                i += 1;
                continue;
            };
            if snap.enqueued < b {
                // This snapshot was taken before the command was applied.
                i += 1;
                continue;
            }
            let feedback = |index: u64, progress: f64, phase: String| {
                let index = index.min(g.motifs.len() as u64 - 1);
                GoalUpdate::Feedback {
                    id: g.id,
                    feedback: PlayMotifsFeedback {
                        current_motif: g.motifs[index as usize].clone(),
                        index: index as u32,
                        progress,
                        phase,
                    },
                }
            };
            let next = snap.finished.max(a);
            let verdict = if snap.finished >= b {
                Some((GoalEnd::Succeeded, String::new()))
            } else if let Some(c) = snap.motif_seq.filter(|c| (a..b).contains(c)) {
                out.push(feedback(c - a, snap.progress, wire_name(snap.phase)));
                None
            } else if snap.phase == Phase::Waiting && !g.canceling {
                out.push(feedback(0, 0.0, wire_name(snap.phase)));
                None
            } else if queue_start <= next && next < snap.enqueued && !g.canceling {
                // Behind the motifs before it.
                out.push(feedback(next - a, 0.0, "queued".into()));
                None
            } else if g.canceling {
                Some((GoalEnd::Canceled, "a client canceled it".into()))
            } else if let Some(f) = snap.fault {
                Some((GoalEnd::Aborted, format!("fault: {}", f.message())))
            } else {
                Some((
                    GoalEnd::Aborted,
                    "its motifs left the queue: a stop, hold or newer sequence replaced them"
                        .into(),
                ))
            };
            match verdict {
                Some((how, error)) => {
                    let g = self.goals.remove(i);
                    let done = self.completed(&g);
                    out.push(end(g.id, how, done, error));
                }
                None => i += 1,
            }
        }
    }

    /// Ends every goal (the node is shutting down).
    pub fn abort_all(&mut self, reason: &str, out: &mut Vec<PlayUpdate>) {
        for g in std::mem::take(&mut self.goals) {
            let done = self.completed(&g);
            out.push(end(g.id, GoalEnd::Aborted, done, reason.into()));
        }
    }

    fn completed(&self, g: &Tracked) -> u32 {
        g.range.map_or(0, |(a, b)| self.finished.clamp(a, b) - a) as u32
    }
}

fn end(id: GoalId, how: GoalEnd, motifs_completed: u32, error: String) -> PlayUpdate {
    GoalUpdate::End {
        id,
        end: how,
        result: PlayMotifsResult {
            success: how == GoalEnd::Succeeded,
            motifs_completed,
            error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::MotifQueue;
    use crate::node::status::idle_snapshot;

    fn names() -> Vec<String> {
        ["circle", "wave", "reach"].map(String::from).to_vec()
    }

    fn parser() -> CommandParser {
        CommandParser::new(names(), 0.25, 2.0, 4096)
    }

    fn goal(motifs: &[&str], append: bool) -> PlayMotifsGoal {
        PlayMotifsGoal {
            motifs: motifs.iter().map(|s| s.to_string()).collect(),
            append,
            speed: 0.0,
        }
    }

    #[test]
    fn goals_become_commands_or_are_rejected_with_the_names() {
        let p = parser();
        let mut g = goal(&["circle", "wave"], false);
        assert_eq!(
            goal_commands(&g, &names(), &p).unwrap(),
            vec!["run circle wave"]
        );
        g.append = true;
        g.speed = 0.5;
        assert_eq!(
            goal_commands(&g, &names(), &p).unwrap(),
            vec!["speed 0.5", "append circle wave"]
        );
        let e = goal_commands(&goal(&["circle", "jump"], false), &names(), &p).unwrap_err();
        assert!(
            e.contains("jump") && e.contains("circle, wave, reach"),
            "{e}"
        );
        // Two known names in one entry are not two motifs.
        assert!(goal_commands(&goal(&["circle wave"], false), &names(), &p).is_err());
        assert!(goal_commands(&goal(&[], false), &names(), &p).is_err());
        g.speed = 9.0;
        let e = goal_commands(&g, &names(), &p).unwrap_err();
        assert!(e.contains("outside"), "{e}");
    }

    fn snap(
        enqueued: u64,
        queue: &[u16],
        motif_seq: Option<u64>,
        finished: u64,
        phase: Phase,
    ) -> StatusSnapshot {
        StatusSnapshot {
            enqueued,
            queue: MotifQueue::from_slice(queue).unwrap(),
            motif_seq,
            finished,
            phase,
            progress: 0.5,
            ..idle_snapshot()
        }
    }

    fn ends(out: &[PlayUpdate]) -> Vec<(GoalId, GoalEnd, u32, String)> {
        out.iter()
            .filter_map(|u| match u {
                GoalUpdate::End { id, end, result } => {
                    Some((*id, *end, result.motifs_completed, result.error.clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn feedback(out: &[PlayUpdate]) -> Vec<(GoalId, String, u32, String)> {
        out.iter()
            .filter_map(|u| match u {
                GoalUpdate::Feedback { id, feedback: f } => {
                    Some((*id, f.current_motif.clone(), f.index, f.phase.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_goal_reports_each_motif_then_succeeds() {
        let mut p = PlayGoals::default();
        let mut out = Vec::new();
        p.start([1; 16], &goal(&["circle", "wave"], false), 7, &mut out);
        p.outcome(7, Ok(2), &mut out);
        // A snapshot from before the command: nothing to say.
        p.observe(&snap(0, &[], None, 0, Phase::Idle), &mut out);
        assert!(out.is_empty());
        p.observe(&snap(2, &[1], Some(0), 0, Phase::Preparing), &mut out);
        p.observe(&snap(2, &[], Some(1), 1, Phase::Executing), &mut out);
        assert_eq!(
            feedback(&out),
            vec![
                ([1; 16], "circle".into(), 0, "preparing".into()),
                ([1; 16], "wave".into(), 1, "executing".into())
            ]
        );
        out.clear();
        p.observe(&snap(2, &[], None, 2, Phase::Holding), &mut out);
        assert_eq!(
            ends(&out),
            vec![([1; 16], GoalEnd::Succeeded, 2, String::new())]
        );
        out.clear();
        p.observe(&snap(2, &[], None, 2, Phase::Holding), &mut out);
        assert!(out.is_empty(), "ends once");
    }

    #[test]
    fn a_new_goal_preempts_and_an_appended_one_waits_its_turn() {
        let mut p = PlayGoals::default();
        let mut out = Vec::new();
        p.start([1; 16], &goal(&["circle", "wave"], false), 1, &mut out);
        p.outcome(1, Ok(2), &mut out);
        p.observe(&snap(2, &[], Some(1), 1, Phase::Executing), &mut out);
        out.clear();
        // Appended behind motif 1: queued until it starts.
        p.start([2; 16], &goal(&["reach"], true), 2, &mut out);
        p.outcome(2, Ok(3), &mut out);
        p.observe(&snap(3, &[2], Some(1), 1, Phase::Executing), &mut out);
        assert_eq!(
            feedback(&out)[1],
            ([2; 16], "reach".into(), 0, "queued".into())
        );
        out.clear();
        // A goal that replaces the queue ends both at once.
        p.start([3; 16], &goal(&["wave"], false), 3, &mut out);
        assert_eq!(
            ends(&out),
            vec![
                (
                    [1; 16],
                    GoalEnd::Aborted,
                    1,
                    "preempted by a newer goal".into()
                ),
                (
                    [2; 16],
                    GoalEnd::Aborted,
                    0,
                    "preempted by a newer goal".into()
                )
            ]
        );
    }

    #[test]
    fn cancel_ends_canceled_once_halted_and_other_goals_abort() {
        let mut p = PlayGoals::default();
        let mut out = Vec::new();
        p.start([1; 16], &goal(&["circle", "wave"], false), 1, &mut out);
        p.outcome(1, Ok(2), &mut out);
        p.start([2; 16], &goal(&["reach"], true), 2, &mut out);
        p.outcome(2, Ok(3), &mut out);
        assert!(p.cancel([1; 16]));
        assert!(!p.cancel([9; 16]));
        // The stop: the queue is cleared, motif 0 decelerates.
        p.observe(&snap(3, &[], Some(0), 0, Phase::Stopping), &mut out);
        assert_eq!(
            feedback(&out),
            vec![([1; 16], "circle".into(), 0, "stopping".into())]
        );
        assert_eq!(
            ends(&out)[0].1,
            GoalEnd::Aborted,
            "the appended goal lost its motifs"
        );
        out.clear();
        p.observe(&snap(3, &[], None, 0, Phase::Holding), &mut out);
        assert_eq!(
            ends(&out),
            vec![([1; 16], GoalEnd::Canceled, 0, "a client canceled it".into())]
        );
    }

    #[test]
    fn refusals_faults_and_waiting() {
        let mut p = PlayGoals::default();
        let mut out = Vec::new();
        p.start([1; 16], &goal(&["circle"], true), 1, &mut out);
        p.outcome(1, Err(RejectReason::QueueFull), &mut out);
        assert_eq!(ends(&out)[0].3, "the controller refused it: queue full");
        out.clear();
        p.start([2; 16], &goal(&["circle"], false), 2, &mut out);
        p.outcome(2, Ok(5), &mut out);
        p.observe(&snap(5, &[], None, 4, Phase::Waiting), &mut out);
        assert_eq!(feedback(&out)[0].3, "waiting_for_joint_states");
        // Canceled while waiting: the stop drops the waiting motif, so the
        // goal ends at once, still waiting.
        p.start([9; 16], &goal(&["wave"], true), 9, &mut out);
        p.outcome(9, Ok(6), &mut out);
        assert!(p.cancel([9; 16]));
        out.clear();
        p.observe(&snap(6, &[], None, 4, Phase::Waiting), &mut out);
        assert_eq!(
            ends(&out),
            vec![([9; 16], GoalEnd::Canceled, 0, "a client canceled it".into())]
        );
        out.clear();
        let mut s = snap(5, &[], None, 4, Phase::Holding);
        s.fault = Some(crate::control::FaultCode::PathTolerance);
        p.observe(&s, &mut out);
        let e = ends(&out);
        assert_eq!(e[0].1, GoalEnd::Aborted);
        assert!(e[0].3.starts_with("fault: "), "{e:?}");
        p.start([3; 16], &goal(&["circle"], false), 3, &mut out);
        out.clear();
        p.abort_all("shutting down", &mut out);
        assert_eq!(
            ends(&out),
            vec![([3; 16], GoalEnd::Aborted, 0, "shutting down".into())]
        );
    }
}
