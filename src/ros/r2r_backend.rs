//! The rcl backend (feature `ros-r2r`): the same routes as `ros2_client_backend.rs`,
//! carried by `r2r` 0.9, so the node runs on the user's ROS 2 install (its
//! RMW, `ros2 node list`, parameter services, launch arguments).
//!
//! It links against a sourced ROS 2, which CI does not have: CI type-checks
//! this file against r2r's bundled bindings (`--features ros-r2r,r2r/doc-only`)
//! but never links or runs it. Keep it small and keep the logic in the
//! shared transport.
//!
//! Threads, as in the default backend: `ros-transport` creates the context,
//! node, publishers and subscriptions, then pumps the outbound channels
//! (r2r publishers may be used from another thread than the one that
//! spins); `ros-spin` owns the node, calls `spin_once` and runs the
//! subscription and parameter-service tasks on a local executor.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::{
    executor::LocalPool,
    future::{BoxFuture, FutureExt},
    task::LocalSpawnExt,
    StreamExt,
};
use r2r::{
    builtin_interfaces::msg as builtin, diagnostic_msgs::msg as diagnostic, qos::DurabilityPolicy,
    qos::ReliabilityPolicy, rosgraph_msgs::msg as rosgraph, sensor_msgs::msg as sensor,
    std_msgs::msg as std_msg, trajectory_msgs::msg as trajectory, Parameter, ParameterValue,
    QosProfile, WrappedTypesupport,
};

use super::{
    error::RosError,
    msgs::{
        Clock, DiagnosticArray, DiagnosticStatus, Duration as RosDuration, Float64MultiArray,
        Header, JointState, JointTrajectory, JointTrajectoryPoint, KeyValue, MultiArrayDimension,
        MultiArrayLayout, RosMessage, StringMsg, Time,
    },
    node::{check_token, normalise_namespace, NodeSpec, QosSpec},
    params::{answer_set, LiveParameters, ParamValue, READ_ONLY_REASON},
    transport::{
        deliver, pump_outbound, BackendNode, Inbound, Outbound, OutboundPump, Publish, Pump,
        Routes, TransportStats,
    },
};

/// How long one `spin_once` may wait for rcl events. It bounds the shutdown
/// delay only: rcl wakes the wait set as soon as a subscription has data.
const SPIN_TIMEOUT: Duration = Duration::from_millis(10);

/// Conversion between a project message (serde, `.msg` field order) and the
/// type r2r generates from the installed `.msg` files. Written out field by
/// field so that CI's type-check against r2r's bindings catches a renamed
/// or retyped field, which a serde round trip would only find at run time.
pub trait R2rMessage: Sized {
    type Native: WrappedTypesupport + Send + 'static;
    fn into_native(self) -> Self::Native;
    fn from_native(native: Self::Native) -> Self;
}

/// This backend's node, which the declared routes bind to.
pub(crate) type TransportNode = r2r::Node;

/// The transport thread's body for this backend.
pub(crate) fn run(routes: Routes) {
    let Routes {
        node: spec,
        live,
        outbound,
        inbound,
        // Action servers are declared on the default backend only.
        servers: _,
        stats,
        stop,
        ready,
    } = routes;
    let quit = Arc::new(AtomicBool::new(false));
    let setup = (|| {
        let mut node = create_node(&spec)?;
        let pumps = outbound
            .into_iter()
            .map(|bind| bind(&mut node, Arc::clone(&stats)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tasks = inbound
            .into_iter()
            .map(|bind| bind(&mut node, Arc::clone(&stats)))
            .collect::<Result<Vec<_>, _>>()?;
        tasks.extend(parameter_tasks(&mut node, &spec, live)?);
        let quit = Arc::clone(&quit);
        let spin = std::thread::Builder::new()
            .name("ros-spin".into())
            .spawn(move || {
                let mut pool = LocalPool::new();
                let spawner = pool.spawner();
                for task in tasks {
                    if let Err(e) = spawner.spawn_local(task) {
                        tracing::error!("r2r task not started: {e}");
                    }
                }
                while !quit.load(Ordering::Relaxed) {
                    node.spin_once(SPIN_TIMEOUT);
                    pool.run_until_stalled();
                }
                // Dropping the node here, after the tasks, destroys the rcl
                // entities on the thread that used them.
                drop(pool);
                drop(node);
            })
            .map_err(|e| RosError::Thread(format!("spawn ros-spin: {e}")))?;
        Ok::<_, RosError>((pumps, spin))
    })();

    let (pumps, spin) = match setup {
        Ok(parts) => parts,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    tracing::info!(
        "ROS transport up (r2r, rcl): node {}{}",
        spec.namespace,
        spec.name
    );

    pump_outbound(pumps, &stop);

    // Publishers hold weak handles: after the node is gone a late publish
    // fails (and is counted) instead of touching freed rcl state.
    quit.store(true, Ordering::Relaxed);
    if spin.join().is_err() {
        tracing::error!("ros-spin thread panicked");
    }
}

fn create_node(spec: &NodeSpec) -> Result<r2r::Node, RosError> {
    let namespace = normalise_namespace(&spec.namespace)?;
    check_token(&spec.name, &spec.name)?;
    // rcl reads ROS_DOMAIN_ID itself; an explicit override cannot be passed
    // through r2r's context, so refuse it rather than silently ignore it.
    let env_domain = NodeSpec {
        domain_id: None,
        ..spec.clone()
    }
    .resolve_domain_id()?;
    if let Some(id) = spec.domain_id.filter(|&id| id != env_domain) {
        return Err(RosError::backend(
            "select the domain",
            format!("the r2r backend uses ROS_DOMAIN_ID ({env_domain}), not {id}"),
        ));
    }
    // rcl parses the process arguments (`--ros-args ...`) here.
    let context = r2r::Context::create().map_err(|e| RosError::backend("init rcl", e))?;
    r2r::Node::create(context, &spec.name, &namespace)
        .map_err(|e| RosError::backend("create node", e))
}

/// Declares the node's parameters and serves `rcl_interfaces` parameter
/// services. r2r accepts every set request before we see it, so a change
/// the node cannot apply is logged as not applied (see `params.rs`); a live
/// one that passes the check is applied.
fn parameter_tasks(
    node: &mut r2r::Node,
    spec: &NodeSpec,
    live: Option<LiveParameters>,
) -> Result<Vec<BoxFuture<'static, ()>>, RosError> {
    {
        let mut params = node
            .params
            .lock()
            .map_err(|_| RosError::Thread("r2r parameter table poisoned".into()))?;
        // Our values win over rcl's copy of the same arguments: they are the
        // validated ones the node runs with.
        for (name, value) in &spec.parameters {
            params.insert(name.clone(), Parameter::new(to_r2r(value)));
        }
    }
    let (server, events) = node
        .make_parameter_handler()
        .map_err(|e| RosError::backend("start parameter services", e))?;
    let declared = spec.parameters.clone();
    let watch = events
        .for_each(move |(name, value)| {
            let start = declared.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
            let outcome = match from_r2r(&value) {
                Some(v) => answer_set(live.as_ref(), &name, &v, start),
                None => Err(READ_ONLY_REASON.to_string()),
            };
            if let Err(reason) = outcome {
                tracing::warn!("parameter {name} changed at run time, not applied: {reason}");
            }
            futures::future::ready(())
        })
        .boxed();
    Ok(vec![server.boxed(), watch])
}

fn from_r2r(value: &ParameterValue) -> Option<ParamValue> {
    Some(match value {
        ParameterValue::Bool(b) => ParamValue::Bool(*b),
        ParameterValue::Integer(i) => ParamValue::Integer(*i),
        ParameterValue::Double(d) => ParamValue::Double(*d),
        ParameterValue::String(s) => ParamValue::String(s.clone()),
        ParameterValue::StringArray(a) => ParamValue::StringArray(a.clone()),
        ParameterValue::DoubleArray(a) => ParamValue::DoubleArray(a.clone()),
        _ => return None,
    })
}

fn to_r2r(value: &ParamValue) -> ParameterValue {
    match value {
        ParamValue::Bool(b) => ParameterValue::Bool(*b),
        ParamValue::Integer(i) => ParameterValue::Integer(*i),
        ParamValue::Double(d) => ParameterValue::Double(*d),
        ParamValue::String(s) => ParameterValue::String(s.clone()),
        ParamValue::StringArray(a) => ParameterValue::StringArray(a.clone()),
        ParamValue::DoubleArray(a) => ParameterValue::DoubleArray(a.clone()),
    }
}

fn qos_profile(qos: QosSpec) -> QosProfile {
    let reliability = if qos.reliable {
        ReliabilityPolicy::Reliable
    } else {
        ReliabilityPolicy::BestEffort
    };
    let durability = if qos.transient_local {
        DurabilityPolicy::TransientLocal
    } else {
        DurabilityPolicy::Volatile
    };
    QosProfile::default()
        .reliability(reliability)
        .durability(durability)
        .keep_last(qos.depth.max(1))
}

impl BackendNode for r2r::Node {
    fn attach_outbound<M: RosMessage>(
        &mut self,
        route: Outbound<M>,
        stats: Arc<TransportStats>,
    ) -> Result<Box<dyn OutboundPump>, RosError> {
        let publisher = self
            .create_publisher::<M::Native>(&route.topic, qos_profile(route.qos))
            .map_err(|e| RosError::backend(format!("create publisher {}", route.topic), e))?;
        Ok(Pump::boxed(route, publisher, stats))
    }

    fn attach_inbound<M: RosMessage>(
        &mut self,
        route: Inbound<M>,
        stats: Arc<TransportStats>,
    ) -> Result<BoxFuture<'static, ()>, RosError> {
        let mut stream = self
            .subscribe::<M::Native>(&route.topic, qos_profile(route.qos))
            .map_err(|e| RosError::backend(format!("create subscription {}", route.topic), e))?;
        let Inbound { topic, tx, .. } = route;
        Ok(async move {
            while let Some(native) = stream.next().await {
                if !deliver(&tx, M::from_native(native), &stats, &topic) {
                    return;
                }
            }
        }
        .boxed())
    }
}

impl<M: RosMessage> Publish<M> for r2r::Publisher<M::Native> {
    fn publish(&self, msg: M) -> Result<(), String> {
        r2r::Publisher::publish(self, &msg.into_native()).map_err(|e| e.to_string())
    }
}

/// Field-for-field conversion between our message and r2r's generated one:
/// `copy` fields move as they are, `msg` fields convert recursively, `list`
/// fields element by element. A field renamed upstream fails to compile.
macro_rules! mirror {
    ($ours:ty => $native:ident :: $ty:ident { $($field:ident: $kind:ident),* $(,)? }) => {
        impl R2rMessage for $ours {
            type Native = $native::$ty;
            fn into_native(self) -> Self::Native {
                $native::$ty { $($field: mirror!(@into $kind self.$field)),* }
            }
            fn from_native(n: Self::Native) -> Self {
                Self { $($field: mirror!(@from $kind n.$field)),* }
            }
        }
    };
    (@into copy $e:expr) => { $e };
    (@into msg $e:expr) => { R2rMessage::into_native($e) };
    (@into list $e:expr) => { $e.into_iter().map(R2rMessage::into_native).collect() };
    (@from copy $e:expr) => { $e };
    (@from msg $e:expr) => { R2rMessage::from_native($e) };
    (@from list $e:expr) => { $e.into_iter().map(R2rMessage::from_native).collect() };
}

mirror!(Time => builtin::Time { sec: copy, nanosec: copy });
mirror!(Clock => rosgraph::Clock { clock: msg });
mirror!(RosDuration => builtin::Duration { sec: copy, nanosec: copy });
mirror!(Header => std_msg::Header { stamp: msg, frame_id: copy });
mirror!(StringMsg => std_msg::String { data: copy });
mirror!(MultiArrayDimension => std_msg::MultiArrayDimension { label: copy, size: copy, stride: copy });
mirror!(MultiArrayLayout => std_msg::MultiArrayLayout { dim: list, data_offset: copy });
mirror!(Float64MultiArray => std_msg::Float64MultiArray { layout: msg, data: copy });
mirror!(JointState => sensor::JointState {
    header: msg,
    name: copy,
    position: copy,
    velocity: copy,
    effort: copy,
});
mirror!(JointTrajectoryPoint => trajectory::JointTrajectoryPoint {
    positions: copy,
    velocities: copy,
    accelerations: copy,
    effort: copy,
    time_from_start: msg,
});
mirror!(JointTrajectory => trajectory::JointTrajectory { header: msg, joint_names: copy, points: list });
mirror!(KeyValue => diagnostic::KeyValue { key: copy, value: copy });
mirror!(DiagnosticStatus => diagnostic::DiagnosticStatus {
    level: copy,
    name: copy,
    message: copy,
    hardware_id: copy,
    values: list,
});
mirror!(DiagnosticArray => diagnostic::DiagnosticArray { header: msg, status: list });
