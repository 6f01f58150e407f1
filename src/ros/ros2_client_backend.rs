//! The default backend: `ros2-client` 0.12 over RustDDS, no ROS install
//! needed. Everything above the route attach functions is shared
//! (`transport.rs`).

use std::sync::Arc;

use futures::future::{self, BoxFuture, FutureExt};
use ros2_client::{
    qos::{Durability, History, Reliability, WhenFull},
    Context, ContextOptions, MessageTypeName, Name, Node, NodeName, NodeOptions, ParameterValue,
    Publisher, QosProfile, Subscription,
};

use super::{
    error::RosError,
    msgs::RosMessage,
    node::{check_token, normalise_namespace, NodeSpec, QosSpec},
    params::{answer_set, LiveParameters, ParamValue, READ_ONLY_REASON},
    transport::{
        deliver, pump_outbound, receive_failed, BackendNode, Inbound, Outbound, OutboundPump,
        Publish, Pump, Routes, TransportStats,
    },
};

/// This backend's node, which the declared routes bind to.
pub(crate) type TransportNode = RosNode;

/// The transport thread's body for this backend.
pub(crate) fn run(routes: Routes) {
    let Routes {
        node: spec,
        live,
        outbound,
        inbound,
        servers,
        stats,
        stop,
        ready,
    } = routes;
    let setup = (|| {
        let mut node = RosNode::new(spec, live)?;
        let pumps = outbound
            .into_iter()
            .map(|bind| bind(&mut node, Arc::clone(&stats)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tasks = inbound
            .into_iter()
            .map(|bind| bind(&mut node, Arc::clone(&stats)))
            .collect::<Result<Vec<_>, _>>()?;
        let workers = servers
            .into_iter()
            .map(|bind| bind(&mut node, Arc::clone(&stats), stop.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let spinner = node.spinner()?;
        tasks.push(
            async move {
                if let Err(e) = spinner.spin().await {
                    tracing::warn!("ros2-client spinner ended: {e:?}");
                }
            }
            .boxed(),
        );
        let (quit_tx, quit_rx) = futures::channel::oneshot::channel::<()>();
        let spin = std::thread::Builder::new()
            .name("ros-spin".into())
            .spawn(move || {
                // Quitting drops every subscription future at its next await.
                futures::executor::block_on(future::select(future::join_all(tasks), quit_rx));
            })
            .map_err(|e| RosError::Thread(format!("spawn ros-spin: {e}")))?;
        Ok::<_, RosError>((node, pumps, workers, spin, quit_tx))
    })();

    let (node, pumps, workers, spin, quit_tx) = match setup {
        Ok(parts) => parts,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    tracing::info!(
        "ROS transport up (ros2-client): node {}{} on domain {}",
        node.spec().namespace,
        node.spec().name,
        node.spec().resolve_domain_id().unwrap_or(0)
    );

    pump_outbound(pumps, &stop);
    // The stop signal has disconnected, which ends the action servers too;
    // they hold DDS endpoints, so they go before the node.
    drop(stop);
    for w in workers {
        if w.join().is_err() {
            tracing::error!("ros-action thread panicked");
        }
    }

    // Node first: its drop tells the spinner to stop while the spinner still
    // listens (the other order logs a spurious error). Subscriptions keep the
    // DDS participant alive until the spin thread has dropped them.
    drop(node);
    drop(quit_tx);
    if spin.join().is_err() {
        tracing::error!("ros-spin thread panicked");
    }
}

impl BackendNode for RosNode {
    fn attach_outbound<M: RosMessage>(
        &mut self,
        route: Outbound<M>,
        stats: Arc<TransportStats>,
    ) -> Result<Box<dyn OutboundPump>, RosError> {
        let publisher = self.publisher::<M>(&route.topic, route.qos)?;
        Ok(Pump::boxed(route, publisher, stats))
    }

    fn attach_inbound<M: RosMessage>(
        &mut self,
        route: Inbound<M>,
        stats: Arc<TransportStats>,
    ) -> Result<BoxFuture<'static, ()>, RosError> {
        let sub: Subscription<M> = self.subscription::<M>(&route.topic, route.qos)?;
        let Inbound { topic, tx, .. } = route;
        Ok(async move {
            loop {
                match sub.async_take().await {
                    Ok((msg, _info)) => {
                        if !deliver(&tx, msg, &stats, &topic) {
                            // Nobody listens any more; keep the reader but stop work.
                            return;
                        }
                    }
                    Err(e) => receive_failed(&stats, &topic, e),
                }
            }
        }
        .boxed())
    }
}

impl<M: RosMessage> Publish<M> for Publisher<M> {
    fn publish(&self, msg: M) -> Result<(), String> {
        Publisher::publish(self, msg).map_err(|e| format!("{e:?}"))
    }
}

fn node_options(parameters: &[(String, ParamValue)], live: Option<LiveParameters>) -> NodeOptions {
    let declared: Vec<(String, ParameterValue)> = parameters
        .iter()
        .map(|(n, v)| (n.clone(), to_ros2_client(v)))
        .collect();
    let mut options = NodeOptions::new().enable_rosout(false);
    for (name, value) in &declared {
        options = options.declare_parameter(name, value.clone());
    }
    // Most parameters are read once at start-up (see `params.rs`): a change
    // through the services would be shown but never used, so only the value
    // the node runs with validates, unless the node applies the parameter
    // live. The validator runs for the declared values too, at creation (the
    // node drops those echoes once the transport is up).
    let start_values: Vec<(String, ParamValue)> = parameters.to_vec();
    let validate = move |name: &str, value: &ParameterValue| -> Result<(), String> {
        let declared = start_values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let value = from_ros2_client(value).ok_or_else(|| READ_ONLY_REASON.to_string())?;
        answer_set(live.as_ref(), name, &value, declared)
    };
    options.parameter_validator(Box::new(validate))
}

fn from_ros2_client(value: &ParameterValue) -> Option<ParamValue> {
    Some(match value {
        ParameterValue::Boolean(b) => ParamValue::Bool(*b),
        ParameterValue::Integer(i) => ParamValue::Integer(*i),
        ParameterValue::Double(d) => ParamValue::Double(*d),
        ParameterValue::String(s) => ParamValue::String(s.clone()),
        ParameterValue::StringArray(a) => ParamValue::StringArray(a.clone()),
        ParameterValue::DoubleArray(a) => ParamValue::DoubleArray(a.clone()),
        _ => return None,
    })
}

fn to_ros2_client(value: &ParamValue) -> ParameterValue {
    match value {
        ParamValue::Bool(b) => ParameterValue::Boolean(*b),
        ParamValue::Integer(i) => ParameterValue::Integer(*i),
        ParamValue::Double(d) => ParameterValue::Double(*d),
        ParamValue::String(s) => ParameterValue::String(s.clone()),
        ParamValue::StringArray(a) => ParameterValue::StringArray(a.clone()),
        ParamValue::DoubleArray(a) => ParameterValue::DoubleArray(a.clone()),
    }
}

/// A ROS 2 node on `ros2-client`: the DDS participant (Context) and the node
/// that owns every publisher and subscription made here.
pub struct RosNode {
    spec: NodeSpec,
    // Field order matters: the node must drop before the context so RustDDS
    // can announce that its writers and readers are gone.
    node: Node,
    _context: Context,
}

impl RosNode {
    pub fn new(spec: NodeSpec, live: Option<LiveParameters>) -> Result<Self, RosError> {
        let domain_id = spec.resolve_domain_id()?;
        let namespace = normalise_namespace(&spec.namespace)?;
        check_token(&spec.name, &spec.name)?;
        let context = Context::with_options(ContextOptions::new().domain_id(domain_id))
            .map_err(|e| RosError::backend("create DDS participant", e))?;
        let node_name = NodeName::new(&namespace, &spec.name)
            .map_err(|e| RosError::backend("name the node", e))?;
        let node = context
            .new_node(node_name, node_options(&spec.parameters, live))
            .map_err(|e| RosError::backend("create node", e))?;
        Ok(Self {
            spec,
            node,
            _context: context,
        })
    }

    pub fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    pub(crate) fn node_mut(&mut self) -> &mut Node {
        &mut self.node
    }

    /// Background task (ROS graph discovery, parameters) that `ros2-client`
    /// needs polled for the node to be visible to `ros2 node list`.
    pub fn spinner(&mut self) -> Result<ros2_client::Spinner, RosError> {
        self.node
            .spinner()
            .map_err(|e| RosError::backend("create spinner", e))
    }

    pub fn publisher<M: RosMessage>(
        &mut self,
        topic: &str,
        qos: QosSpec,
    ) -> Result<Publisher<M>, RosError> {
        let topic = self.topic::<M>(topic, qos)?;
        self.node
            .create_publisher(&topic, None)
            .map_err(|e| RosError::backend("create publisher", e))
    }

    pub fn subscription<M: RosMessage>(
        &mut self,
        topic: &str,
        qos: QosSpec,
    ) -> Result<Subscription<M>, RosError> {
        let topic = self.topic::<M>(topic, qos)?;
        self.node
            .create_subscription(&topic, None)
            .map_err(|e| RosError::backend("create subscription", e))
    }

    fn topic<M: RosMessage>(
        &mut self,
        topic: &str,
        qos: QosSpec,
    ) -> Result<ros2_client::dds::rustdds::Topic, RosError> {
        let full = self.spec.resolve_topic(topic)?;
        // ros2-client does not expand `~`, so hand it the absolute name.
        let name = Name::parse(&full).map_err(|e| RosError::backend("parse topic name", e))?;
        self.node
            .create_topic(
                &name,
                MessageTypeName::new(M::PACKAGE, M::NAME),
                &qos_profile(qos),
            )
            .map_err(|e| RosError::backend(format!("create topic {full}"), e))
    }
}

fn qos_profile(qos: QosSpec) -> QosProfile {
    // Fail instead of waiting when the reliable send window is full: the
    // transport thread serves every topic, and one slow reader must not
    // stall the others. KeepLast history makes that a rare case anyway.
    let reliability = if qos.reliable {
        Reliability::Reliable {
            when_full: WhenFull::Fail,
        }
    } else {
        Reliability::BestEffort
    };
    let durability = if qos.transient_local {
        Durability::TransientLocal
    } else {
        Durability::Volatile
    };
    QosProfile::publisher_default()
        .reliability(reliability)
        .durability(durability)
        .history(History::KeepLast {
            depth: qos.depth.max(1),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_type_names_match_ros2_client() {
        use crate::ros::msgs::{Float64MultiArray, JointState, StringMsg};
        fn check<M: RosMessage>() {
            assert_eq!(
                M::dds_type_name(),
                MessageTypeName::new(M::PACKAGE, M::NAME).dds_msg_type()
            );
        }
        check::<StringMsg>();
        check::<Float64MultiArray>();
        check::<JointState>();
    }
}
