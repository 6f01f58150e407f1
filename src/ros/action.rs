//! A ROS 2 action server, as the application sees it, and the goal
//! bookkeeping the action protocol asks of a server.
//!
//! The protocol (design.ros2.org "Actions") runs over three services and two
//! topics under `<action>/_action/`: `send_goal`, `cancel_goal`,
//! `get_result`, `feedback` and `status`. The transport answers all of them;
//! the application only sees [`GoalEvent`]s (a goal accepted, a cancel
//! asked) and sends [`GoalUpdate`]s (feedback, the end). [`GoalTable`] is
//! what the transport keeps in between: each goal's status and result, the
//! result requests waiting for it, and which goals a cancel request names.
//! It is pure, so the protocol rules are tested here without DDS.

use std::sync::Arc;

use super::msgs::{RosAction, Time};

/// `unique_identifier_msgs/UUID`: the client picks it.
pub type GoalId = [u8; 16];

/// `action_msgs/GoalStatus` codes.
pub mod status {
    pub const UNKNOWN: i8 = 0;
    pub const ACCEPTED: i8 = 1;
    pub const EXECUTING: i8 = 2;
    pub const CANCELING: i8 = 3;
    pub const SUCCEEDED: i8 = 4;
    pub const CANCELED: i8 = 5;
    pub const ABORTED: i8 = 6;
}

/// `action_msgs/CancelGoal` return codes.
pub mod cancel_code {
    pub const NONE: i8 = 0;
    pub const REJECTED: i8 = 1;
    pub const UNKNOWN_GOAL_ID: i8 = 2;
    pub const GOAL_TERMINATED: i8 = 3;
}

/// How a goal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalEnd {
    Succeeded,
    /// A client asked to cancel it.
    Canceled,
    /// The server ended it (preempted, a fault, a newer command).
    Aborted,
}

impl GoalEnd {
    pub fn code(self) -> i8 {
        match self {
            GoalEnd::Succeeded => status::SUCCEEDED,
            GoalEnd::Canceled => status::CANCELED,
            GoalEnd::Aborted => status::ABORTED,
        }
    }
}

/// What the transport tells the application.
#[derive(Debug, Clone, PartialEq)]
pub enum GoalEvent<G> {
    /// Passed the goal check and is executing: the application must end it
    /// with a [`GoalUpdate::End`].
    Accepted { id: GoalId, goal: G },
    /// Refused by the goal check (the client only learns "rejected").
    Rejected { goal: G, reason: String },
    /// A client asked to cancel this goal; it is CANCELING until it ends.
    Cancel { id: GoalId },
}

/// What the application tells the transport.
#[derive(Debug, Clone, PartialEq)]
pub enum GoalUpdate<F, R> {
    Feedback { id: GoalId, feedback: F },
    End { id: GoalId, end: GoalEnd, result: R },
}

/// Decides at once whether a goal is accepted (`Err` = rejected, why).
pub type GoalCheck<G> = Arc<dyn Fn(&G) -> Result<(), String> + Send + Sync>;

/// The application's ends of an action server for `A`.
pub struct ActionEnds<A: RosAction> {
    pub events: crossbeam_channel::Receiver<GoalEvent<A::Goal>>,
    pub updates: crossbeam_channel::Sender<GoalUpdate<A::Feedback, A::Result>>,
}

/// Finished goals kept for late `get_result` calls; older ones are
/// forgotten (rclcpp's default result timeout is 15 min; a count bounds the
/// memory instead).
const KEEP_FINISHED: usize = 32;

#[derive(Debug)]
struct Goal<Q, R> {
    id: GoalId,
    accepted: Time,
    status: i8,
    result: Option<R>,
    waiting: Vec<Q>,
}

/// The server's goals: `Q` is the backend's request id, `R` the result.
#[derive(Debug)]
pub struct GoalTable<Q, R> {
    goals: Vec<Goal<Q, R>>,
}

impl<Q, R> Default for GoalTable<Q, R> {
    fn default() -> Self {
        Self { goals: Vec::new() }
    }
}

impl<Q, R: Clone> GoalTable<Q, R> {
    /// A new goal, accepted and executing at `now`. `false` for a goal id
    /// already known (the request is a duplicate and is dropped).
    pub fn accept(&mut self, id: GoalId, now: Time) -> bool {
        if self.goals.iter().any(|g| g.id == id) {
            return false;
        }
        self.goals.push(Goal {
            id,
            accepted: now,
            status: status::EXECUTING,
            result: None,
            waiting: Vec::new(),
        });
        true
    }

    /// The goals a `CancelGoal` request names, moved to CANCELING, with
    /// their accept stamps (the response lists them). The request's rules:
    /// zero id and zero stamp cancel every goal; a stamp cancels the goals
    /// accepted at or before it; an id cancels that goal (and, with a stamp,
    /// those too). Goals already ended are not cancelled. The code is the
    /// response's: NONE when some goal is now canceling, else why not (as
    /// rcl_action answers).
    pub fn cancel(&mut self, id: GoalId, stamp: Time) -> (Vec<(GoalId, Time)>, i8) {
        let all = id == [0; 16] && stamp == Time::default();
        let before =
            |t: Time| stamp != Time::default() && (t.sec, t.nanosec) <= (stamp.sec, stamp.nanosec);
        let mut out = Vec::new();
        for g in &mut self.goals {
            let active = matches!(g.status, status::ACCEPTED | status::EXECUTING);
            if active && (all || g.id == id || before(g.accepted)) {
                g.status = status::CANCELING;
                out.push((g.id, g.accepted));
            }
        }
        let code = if !out.is_empty() {
            cancel_code::NONE
        } else if id == [0; 16] {
            cancel_code::REJECTED
        } else {
            match self.goals.iter().find(|g| g.id == id) {
                None => cancel_code::UNKNOWN_GOAL_ID,
                Some(g) if g.result.is_some() => cancel_code::GOAL_TERMINATED,
                // Already canceling.
                Some(_) => cancel_code::REJECTED,
            }
        };
        (out, code)
    }

    /// A `get_result` request: the answer now if the goal has ended (or is
    /// unknown: status UNKNOWN, as rcl answers), else `None` and the request
    /// waits for [`GoalTable::end`].
    pub fn result_request(&mut self, id: GoalId, request: Q) -> Option<(i8, Option<R>)> {
        match self.goals.iter_mut().find(|g| g.id == id) {
            None => Some((status::UNKNOWN, None)),
            Some(g) if g.result.is_some() => Some((g.status, g.result.clone())),
            Some(g) => {
                g.waiting.push(request);
                None
            }
        }
    }

    /// The goal ended: the result requests to answer with `result`. Ending
    /// an unknown or ended goal does nothing.
    pub fn end(&mut self, id: GoalId, end: GoalEnd, result: R) -> Vec<Q> {
        let Some(g) = self
            .goals
            .iter_mut()
            .find(|g| g.id == id && g.result.is_none())
        else {
            return Vec::new();
        };
        g.status = end.code();
        g.result = Some(result);
        let waiting = std::mem::take(&mut g.waiting);
        let finished = self.goals.iter().filter(|g| g.result.is_some()).count();
        if finished > KEEP_FINISHED {
            if let Some(oldest) = self.goals.iter().position(|g| g.result.is_some()) {
                self.goals.remove(oldest);
            }
        }
        waiting
    }

    /// Whether `id` is a goal that has not ended (feedback is sent only then).
    pub fn active(&self, id: GoalId) -> bool {
        self.goals.iter().any(|g| g.id == id && g.result.is_none())
    }

    /// `action_msgs/GoalStatusArray`'s content: every known goal.
    pub fn statuses(&self) -> Vec<(GoalId, Time, i8)> {
        self.goals
            .iter()
            .map(|g| (g.id, g.accepted, g.status))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(sec: i32) -> Time {
        Time { sec, nanosec: 0 }
    }

    #[test]
    fn results_wait_for_the_end_and_stay_for_late_requests() {
        let mut g = GoalTable::<u32, &str>::default();
        assert!(g.accept([1; 16], t(1)));
        assert!(!g.accept([1; 16], t(2)), "duplicate id");
        assert_eq!(g.result_request([1; 16], 10), None);
        assert_eq!(g.result_request([1; 16], 11), None);
        assert!(g.active([1; 16]));
        assert_eq!(g.end([1; 16], GoalEnd::Succeeded, "done"), vec![10, 11]);
        assert!(!g.active([1; 16]));
        assert!(
            g.end([1; 16], GoalEnd::Aborted, "again").is_empty(),
            "ends once"
        );
        assert_eq!(
            g.result_request([1; 16], 12),
            Some((status::SUCCEEDED, Some("done")))
        );
        assert_eq!(g.result_request([9; 16], 13), Some((status::UNKNOWN, None)));
        assert_eq!(g.statuses(), vec![([1; 16], t(1), status::SUCCEEDED)]);
    }

    #[test]
    fn cancel_follows_the_cancel_goal_rules() {
        let mut g = GoalTable::<u32, ()>::default();
        for (i, sec) in [(1u8, 1), (2, 2), (3, 3)] {
            g.accept([i; 16], t(sec));
        }
        g.end([3; 16], GoalEnd::Succeeded, ());
        // By id.
        assert_eq!(
            g.cancel([2; 16], Time::default()),
            (vec![([2; 16], t(2))], cancel_code::NONE)
        );
        // Already canceling, ended or unknown: nothing more, and why.
        assert_eq!(
            g.cancel([2; 16], Time::default()),
            (vec![], cancel_code::REJECTED)
        );
        assert_eq!(
            g.cancel([3; 16], Time::default()),
            (vec![], cancel_code::GOAL_TERMINATED)
        );
        assert_eq!(
            g.cancel([8; 16], Time::default()),
            (vec![], cancel_code::UNKNOWN_GOAL_ID)
        );
        // By stamp: accepted at or before it.
        g.accept([4; 16], t(4));
        assert_eq!(g.cancel([0; 16], t(1)).0, vec![([1; 16], t(1))]);
        // Everything.
        g.accept([5; 16], t(5));
        let all: Vec<_> = g
            .cancel([0; 16], Time::default())
            .0
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(all, vec![[4; 16], [5; 16]]);
        let codes: Vec<i8> = g.statuses().into_iter().map(|s| s.2).collect();
        assert_eq!(
            codes,
            vec![
                status::CANCELING,
                status::CANCELING,
                status::SUCCEEDED,
                status::CANCELING,
                status::CANCELING
            ]
        );
    }

    #[test]
    fn finished_goals_are_bounded() {
        let mut g = GoalTable::<u32, u32>::default();
        for i in 0..(KEEP_FINISHED as u32 + 5) {
            let id = [i as u8; 16];
            g.accept(id, t(i as i32));
            g.end(id, GoalEnd::Succeeded, i);
        }
        assert_eq!(g.statuses().len(), KEEP_FINISHED);
        // The oldest went first.
        assert_eq!(g.result_request([0; 16], 0), Some((status::UNKNOWN, None)));
        assert_eq!(
            g.result_request([KEEP_FINISHED as u8 + 4; 16], 0),
            Some((status::SUCCEEDED, Some(KEEP_FINISHED as u32 + 4)))
        );
    }
}
