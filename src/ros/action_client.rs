//! A ROS 2 action client for the command line (`motifctl play`): send one
//! goal, report its feedback, cancel it on request, return its result.
//!
//! Default backend only, like the servers. A command-line tool waits
//! anyway, so after discovery it polls ros2-client's non-blocking calls
//! every [`POLL`] instead of running an executor.

use std::{
    future::Future,
    pin::pin,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use futures::future::{self, Either};
use ros2_client::{
    action::ActionClientQosPolicies, ActionTypeName, Context, ContextOptions, Name, NodeName,
    NodeOptions, ServiceMapping,
};

use super::{
    action::status,
    error::RosError,
    msgs::RosAction,
    node::NodeSpec,
    ros2_client_servers::{goal_code, services_qos, status_qos, Wire},
};

const POLL: Duration = Duration::from_millis(10);

/// How a goal went.
#[derive(Debug, Clone, PartialEq)]
pub enum GoalOutcome<R> {
    /// The server refused it (the reason is the server's to tell).
    Rejected,
    /// It ended: the `action_msgs/GoalStatus` code and the result.
    Ended { status: i8, result: R },
}

/// Sends `goal` to the action `action` (an absolute name) and waits for the
/// end, calling `on_feedback` for each feedback. Setting `cancel` asks the
/// server to cancel it; the wait goes on until the server ends it.
/// `timeout` bounds discovery and the goal's acceptance, not its run.
pub fn run_goal<A: RosAction>(
    spec: &NodeSpec,
    action: &str,
    goal: A::Goal,
    timeout: Duration,
    cancel: &AtomicBool,
    mut on_feedback: impl FnMut(&A::Feedback),
) -> Result<GoalOutcome<A::Result>, RosError> {
    let context = Context::with_options(ContextOptions::new().domain_id(spec.resolve_domain_id()?))
        .map_err(|e| RosError::backend("create DDS participant", e))?;
    let name = NodeName::new(&spec.namespace, &spec.name)
        .map_err(|e| RosError::backend("name the node", e))?;
    let mut node = context
        .new_node(name, NodeOptions::new().enable_rosout(false))
        .map_err(|e| RosError::backend("create node", e))?;
    // Discovery (wait_for_service) needs the node's graph task running.
    let spinner = node
        .spinner()
        .map_err(|e| RosError::backend("create spinner", e))?;
    std::thread::Builder::new()
        .name("ros-spin".into())
        .spawn(move || {
            let _ = futures::executor::block_on(spinner.spin());
        })
        .map_err(|e| RosError::Thread(format!("spawn ros-spin: {e}")))?;
    let qos = ActionClientQosPolicies {
        goal_service: services_qos(),
        result_service: services_qos(),
        cancel_service: services_qos(),
        feedback_subscription: services_qos(),
        status_subscription: status_qos(),
    };
    let client = node
        .create_action_client::<Wire<A::Goal>, Wire<A::Result>, Wire<A::Feedback>>(
            ServiceMapping::Enhanced,
            &Name::parse(action).map_err(|e| RosError::backend("parse action name", e))?,
            &ActionTypeName::new(A::PACKAGE, A::NAME),
            qos,
        )
        .map_err(|e| RosError::backend(format!("create action client {action}"), e))?;
    let not_found = || RosError::Thread(format!("no action server {action} within {timeout:?}"));
    let ready = async {
        client.goal_client().wait_for_service(&node).await;
        client.result_client().wait_for_service(&node).await;
        client.cancel_client().wait_for_service(&node).await;
    };
    within(ready, timeout).ok_or_else(not_found)?;
    let (goal_id, response) = within(client.async_send_goal(Wire(goal)), timeout)
        .ok_or_else(not_found)?
        .map_err(|e| RosError::backend("send the goal", e))?;
    if !response.accepted {
        return Ok(GoalOutcome::Rejected);
    }
    let request = client
        .request_result(goal_id)
        .map_err(|e| RosError::backend("ask for the result", e))?;
    let mut canceled = false;
    loop {
        while let Ok(Some(Wire(f))) = client.receive_feedback(goal_id) {
            on_feedback(&f);
        }
        match client.receive_result(request) {
            Ok(Some((code, Wire(result)))) => {
                return Ok(GoalOutcome::Ended {
                    status: goal_code(code),
                    result,
                })
            }
            Ok(None) => {}
            Err(e) => return Err(RosError::backend("read the result", e)),
        }
        if cancel.load(Ordering::Relaxed) && !canceled {
            canceled = true;
            client
                .cancel_goal(goal_id)
                .map_err(|e| RosError::backend("cancel the goal", e))?;
        }
        std::thread::sleep(POLL);
    }
}

/// `f`'s output, or `None` after `limit`.
fn within<F: Future>(f: F, limit: Duration) -> Option<F::Output> {
    let (fire, alarm) = futures::channel::oneshot::channel::<()>();
    let start = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(limit.saturating_sub(start.elapsed()));
        let _ = fire.send(());
    });
    match futures::executor::block_on(future::select(pin!(f), alarm)) {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

/// What `motifctl` prints for a status code.
pub fn status_word(code: i8) -> &'static str {
    match code {
        status::SUCCEEDED => "succeeded",
        status::CANCELED => "canceled",
        status::ABORTED => "aborted",
        _ => "unknown",
    }
}
