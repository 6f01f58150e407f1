//! The default backend's service and action servers.
//!
//! A service is one task on the spin thread: take a request, answer it.
//! An action server is its own thread, `ros-action`: ros2-client's
//! [`ActionServer`] hands out its three services only through `&mut`
//! accessors, so one task cannot await all three at once; the thread
//! instead waits on the application's updates (or the stop signal) for at
//! most [`POLL`] and then takes whatever requests have arrived. The
//! protocol's bookkeeping is [`GoalTable`] (`action.rs`).

use std::{sync::Arc, thread::JoinHandle, time::Duration};

use crossbeam_channel::{select, Receiver, Sender};
use futures::future::{BoxFuture, FutureExt};
use ros2_client::{
    action::{
        ActionServer, ActionServerQosPolicies, GetResultRequest, GetResultResponse, GoalStatusEnum,
        SendGoalRequest, SendGoalResponse,
    },
    action_msgs::{
        CancelGoalRequest, CancelGoalResponse, CancelGoalResponseEnum, GoalInfo, GoalStatus,
        GoalStatusArray,
    },
    builtin_interfaces,
    qos::{Durability, History},
    unique_identifier_msgs::UUID,
    ActionTypeName, Message, Name, QosProfile, RmwRequestId, ServiceMapping, ServiceTypeName,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::{
    action::{cancel_code, status, GoalCheck, GoalEvent, GoalId, GoalTable, GoalUpdate},
    error::RosError,
    msgs::{RosAction, RosService, Time},
    ros2_client_backend::RosNode,
    transport::{receive_failed, TransportStats},
};

/// Longest wait before an action server looks for new requests.
const POLL: Duration = Duration::from_millis(10);

/// Our message structs on ros2-client's wire: its servers want its
/// `Message` trait, which only this backend knows about.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Wire<T>(pub T);

impl<T: Serialize + DeserializeOwned> Message for Wire<T> {}

/// A declared service.
pub(crate) struct ServiceRoute<S: RosService> {
    pub name: String,
    pub answer: Box<dyn Fn(S::Request) -> S::Response + Send>,
}

/// A declared action server.
pub(crate) struct ActionRoute<A: RosAction> {
    pub name: String,
    pub check: GoalCheck<A::Goal>,
    pub events: Sender<GoalEvent<A::Goal>>,
    pub updates: Receiver<GoalUpdate<A::Feedback, A::Result>>,
}

/// The ROS service defaults (rmw_qos_profile_services_default).
pub(crate) fn services_qos() -> QosProfile {
    QosProfile::publisher_default().history(History::KeepLast { depth: 10 })
}

/// An action's status topic, as rclcpp has it: latched (transient local,
/// depth 1), so a late client still sees its goal's state.
pub(crate) fn status_qos() -> QosProfile {
    QosProfile::publisher_default()
        .durability(Durability::TransientLocal)
        .history(History::KeepLast { depth: 1 })
}

fn name_of(full: &str) -> Result<Name, RosError> {
    Name::parse(full).map_err(|e| RosError::backend("parse service name", e))
}

impl RosNode {
    /// The task answering `S` calls.
    pub(crate) fn serve<S: RosService>(
        &mut self,
        route: ServiceRoute<S>,
        stats: Arc<TransportStats>,
    ) -> Result<BoxFuture<'static, ()>, RosError> {
        let server = self
            .node_mut()
            .create_server::<Wire<S::Request>, Wire<S::Response>>(
                ServiceMapping::Enhanced,
                &name_of(&route.name)?,
                &ServiceTypeName::new(S::PACKAGE, S::NAME),
                services_qos(),
                services_qos(),
            )
            .map_err(|e| RosError::backend(format!("create service {}", route.name), e))?;
        let ServiceRoute { name, answer } = route;
        Ok(async move {
            loop {
                match server.async_receive_request().await {
                    Ok((id, Wire(request))) => {
                        if let Err(e) = server.send_response(id, Wire(answer(request))) {
                            tracing::warn!("answering {name}: {e:?}");
                        }
                    }
                    Err(e) => receive_failed(&stats, &name, e),
                }
            }
        }
        .boxed())
    }

    /// Starts the thread serving `A` goals.
    pub(crate) fn serve_action<A: RosAction>(
        &mut self,
        route: ActionRoute<A>,
        stats: Arc<TransportStats>,
        stop: Receiver<()>,
    ) -> Result<JoinHandle<()>, RosError> {
        let qos = ActionServerQosPolicies {
            goal_service: services_qos(),
            result_service: services_qos(),
            cancel_service: services_qos(),
            feedback_publisher: services_qos(),
            status_publisher: status_qos(),
        };
        let server = self
            .node_mut()
            .create_action_server::<Wire<A::Goal>, Wire<A::Result>, Wire<A::Feedback>>(
                ServiceMapping::Enhanced,
                &name_of(&route.name)?,
                &ActionTypeName::new(A::PACKAGE, A::NAME),
                qos,
            )
            .map_err(|e| RosError::backend(format!("create action {}", route.name), e))?;
        std::thread::Builder::new()
            .name("ros-action".into())
            .spawn(move || {
                GoalServer::<A> {
                    server,
                    route,
                    stats,
                    table: GoalTable::default(),
                    rejected: 0,
                }
                .run(&stop)
            })
            .map_err(|e| RosError::Thread(format!("spawn ros-action: {e}")))
    }
}

type Server<A> = ActionServer<
    Wire<<A as RosAction>::Goal>,
    Wire<<A as RosAction>::Result>,
    Wire<<A as RosAction>::Feedback>,
>;

struct GoalServer<A: RosAction> {
    server: Server<A>,
    route: ActionRoute<A>,
    stats: Arc<TransportStats>,
    table: GoalTable<RmwRequestId, A::Result>,
    /// Goals refused so far (their warnings are throttled).
    rejected: u64,
}

impl<A: RosAction> GoalServer<A> {
    fn run(mut self, stop: &Receiver<()>) {
        self.publish_statuses();
        loop {
            let update = select! {
                recv(self.route.updates) -> u => match u {
                    Ok(u) => Some(u),
                    // The application is gone.
                    Err(_) => return,
                },
                recv(stop) -> _ => return,
                default(POLL) => None,
            };
            let mut changed = false;
            for u in update
                .into_iter()
                .chain(self.route.updates.try_iter().collect::<Vec<_>>())
            {
                changed |= self.apply(u);
            }
            changed |= self.take_requests();
            if changed {
                self.publish_statuses();
            }
        }
    }

    /// Feedback goes out; an end answers the waiting result requests.
    fn apply(&mut self, update: GoalUpdate<A::Feedback, A::Result>) -> bool {
        match update {
            GoalUpdate::Feedback { id, feedback } => {
                if self.table.active(id) {
                    if let Err(e) = self.server.send_feedback(uuid(id), Wire(feedback)) {
                        tracing::debug!("feedback on {}: {e:?}", self.route.name);
                    }
                }
                false
            }
            GoalUpdate::End { id, end, result } => {
                for request in self.table.end(id, end, result.clone()) {
                    self.send_result(request, end.code(), result.clone());
                }
                true
            }
        }
    }

    /// Everything the clients sent since the last look.
    fn take_requests(&mut self) -> bool {
        let mut changed = false;
        loop {
            match self.server.receive_goal() {
                Ok(Some((
                    request,
                    SendGoalRequest {
                        goal_id,
                        goal: Wire(goal),
                    },
                ))) => {
                    changed |= self.new_goal(request, goal_id, goal);
                }
                Ok(None) => break,
                Err(e) => receive_failed(&self.stats, &self.route.name, e),
            }
        }
        loop {
            match self.server.receive_cancel_request() {
                Ok(Some((request, cancel))) => {
                    changed |= self.cancel(request, &cancel);
                }
                Ok(None) => break,
                Err(e) => receive_failed(&self.stats, &self.route.name, e),
            }
        }
        loop {
            match self.server.receive_result_request() {
                Ok(Some((request, GetResultRequest { goal_id }))) => {
                    if let Some((code, result)) = self
                        .table
                        .result_request(goal_id.uuid.into_bytes(), request)
                    {
                        self.send_result(request, code, result.unwrap_or_default());
                    }
                }
                Ok(None) => break,
                Err(e) => receive_failed(&self.stats, &self.route.name, e),
            }
        }
        changed
    }

    fn new_goal(&mut self, request: RmwRequestId, goal_id: UUID, goal: A::Goal) -> bool {
        let id = goal_id.uuid.into_bytes();
        // An accepted goal must reach the application, which ends it: with
        // no room for the event it is refused rather than left running.
        let verdict = if self.route.events.is_full() {
            Err("the node is not taking goals fast enough; try again".into())
        } else {
            (self.route.check)(&goal)
        };
        let now = Time::now();
        let accepted = verdict.is_ok() && self.table.accept(id, now);
        let response = SendGoalResponse {
            accepted,
            stamp: ros_time(now),
        };
        if let Err(e) = self.server.send_goal_response(request, response) {
            tracing::warn!("answering a goal on {}: {e:?}", self.route.name);
        }
        let event = match verdict {
            Ok(()) if accepted => GoalEvent::Accepted { id, goal },
            Ok(()) => return false, // a duplicate id
            Err(reason) => {
                self.rejected += 1;
                if crate::logging::throttled(self.rejected) {
                    tracing::warn!(
                        "goal on {} rejected ({} so far): {reason}",
                        self.route.name,
                        self.rejected
                    );
                }
                GoalEvent::Rejected { goal, reason }
            }
        };
        // Room was checked above; a rejection may be dropped when full.
        let _ = self.route.events.try_send(event);
        accepted
    }

    fn cancel(&mut self, request: RmwRequestId, cancel: &CancelGoalRequest) -> bool {
        let (id, stamp) = cancel_target(cancel);
        let (canceling, code) = self.table.cancel(id, stamp);
        let response = CancelGoalResponse {
            return_code: match code {
                cancel_code::NONE => CancelGoalResponseEnum::None,
                cancel_code::UNKNOWN_GOAL_ID => CancelGoalResponseEnum::UnknownGoal,
                cancel_code::GOAL_TERMINATED => CancelGoalResponseEnum::GoalTerminated,
                _ => CancelGoalResponseEnum::Rejected,
            },
            goals_canceling: canceling
                .iter()
                .map(|&(id, stamp)| GoalInfo {
                    goal_id: uuid(id),
                    stamp: ros_time(stamp),
                })
                .collect(),
        };
        if let Err(e) = self.server.send_cancel_response(request, response) {
            tracing::warn!("answering a cancel on {}: {e:?}", self.route.name);
        }
        for (id, _) in &canceling {
            let _ = self.route.events.try_send(GoalEvent::Cancel { id: *id });
        }
        !canceling.is_empty()
    }

    fn send_result(&self, request: RmwRequestId, code: i8, result: A::Result) {
        let response = GetResultResponse {
            status: goal_status(code),
            result: Wire(result),
        };
        if let Err(e) = self.server.send_result(request, response) {
            tracing::warn!("sending a result on {}: {e:?}", self.route.name);
        }
    }

    fn publish_statuses(&self) {
        let status_list = self
            .table
            .statuses()
            .into_iter()
            .map(|(id, stamp, code)| GoalStatus {
                goal_info: GoalInfo {
                    goal_id: uuid(id),
                    stamp: ros_time(stamp),
                },
                status: goal_status(code),
            })
            .collect();
        if let Err(e) = self
            .server
            .send_goal_statuses(GoalStatusArray { status_list })
        {
            tracing::debug!("status on {}: {e:?}", self.route.name);
        }
    }
}

/// The goal id and stamp a cancel request names. ros2-client keeps the
/// request's field private; its serde form is public, so it is read
/// through that (a few bytes, off the loop).
fn cancel_target(cancel: &CancelGoalRequest) -> (GoalId, Time) {
    #[derive(Deserialize)]
    struct Request {
        goal_info: Info,
    }
    #[derive(Deserialize)]
    struct Info {
        goal_id: UUID,
        stamp: Time,
    }
    match serde_json::to_value(cancel).and_then(serde_json::from_value::<Request>) {
        Ok(r) => (r.goal_info.goal_id.uuid.into_bytes(), r.goal_info.stamp),
        Err(e) => {
            // Cannot happen while the two forms agree; cancel nothing then.
            tracing::error!("reading a cancel request: {e}");
            ([0xff; 16], Time::default())
        }
    }
}

fn uuid(id: GoalId) -> UUID {
    UUID {
        uuid: uuid::Uuid::from_bytes(id),
    }
}

fn ros_time(t: Time) -> builtin_interfaces::Time {
    builtin_interfaces::Time::from_nanos(i64::from(t.sec) * 1_000_000_000 + i64::from(t.nanosec))
}

/// The code of a status as ros2-client types it.
pub(crate) fn goal_code(status: GoalStatusEnum) -> i8 {
    status as i8
}

fn goal_status(code: i8) -> GoalStatusEnum {
    match code {
        status::ACCEPTED => GoalStatusEnum::Accepted,
        status::EXECUTING => GoalStatusEnum::Executing,
        status::CANCELING => GoalStatusEnum::Canceling,
        status::SUCCEEDED => GoalStatusEnum::Succeeded,
        status::CANCELED => GoalStatusEnum::Canceled,
        status::ABORTED => GoalStatusEnum::Aborted,
        _ => GoalStatusEnum::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_request_is_read_through_its_serde_form() {
        // ros2-client builds the request only from the wire: decode one.
        #[derive(Serialize)]
        struct Plain {
            goal_id: [u8; 16],
            stamp: Time,
        }
        let plain = Plain {
            goal_id: [7; 16],
            stamp: Time { sec: 5, nanosec: 6 },
        };
        let bytes = cdr_encoding::to_vec::<_, byteorder::LittleEndian>(&plain).unwrap();
        let (cancel, _) =
            cdr_encoding::from_bytes::<CancelGoalRequest, byteorder::LittleEndian>(&bytes).unwrap();
        assert_eq!(
            cancel_target(&cancel),
            ([7; 16], Time { sec: 5, nanosec: 6 })
        );
    }
}
