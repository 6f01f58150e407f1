//! The boundary between the application and DDS.
//!
//! The application declares its topics on a [`TransportBuilder`] and gets
//! plain bounded `crossbeam-channel` endpoints back: a `Sender<M>` per
//! published topic, a `Receiver<M>` per subscribed topic. [`TransportBuilder::spawn`]
//! moves every DDS object onto a transport thread that the application never
//! touches. The control loop therefore only ever does `try_send`/`try_recv`
//! on channels; it shares no lock with DDS and never waits on the network.
//!
//! Threads: `ros-transport` owns the node and publishers and blocks on a
//! `crossbeam` select over all outbound channels; `ros-spin` runs the
//! subscriptions (and whatever the backend needs polled) and pushes decoded
//! messages into the inbound channels.
//!
//! Everything here is backend-neutral. A backend (`ros2_client_backend`,
//! `r2r_backend`; `ros/mod.rs` picks one at compile time, as it picks the
//! messages' [`super::msgs::BackendMessage`]) supplies its node type with
//! [`BackendNode`] and a thread body `run` that creates the node, binds each
//! declared route to it and then hands the publishers to [`pump_outbound`]. The builder, channels, counters, thread shape and
//! back-pressure rules are shared, so the backends cannot drift apart.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    thread::JoinHandle,
    time::Duration,
};

use crossbeam_channel::{
    bounded, Receiver, RecvTimeoutError, Select, Sender, TryRecvError, TrySendError,
};

use futures::future::BoxFuture;

#[cfg(not(feature = "ros-r2r"))]
use super::{
    action::{ActionEnds, GoalCheck},
    msgs::{RosAction, RosService},
    ros2_client_servers::{ActionRoute, ServiceRoute},
};
use super::{
    backend,
    error::RosError,
    msgs::RosMessage,
    node::{NodeSpec, QosSpec},
    params::{LiveCheck, LiveParameters, ParamValue},
};

/// Bound on participant start-up, so a broken network setup is an error
/// rather than a hang.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// At most this many samples are published from one channel before the
/// others get a turn, so a flooded topic cannot starve the rest.
const DRAIN_BATCH: usize = 64;

/// Counters shared between the transport threads and the application.
/// Atomics only: reading them never blocks the transport.
#[derive(Debug, Default)]
pub struct TransportStats {
    published: AtomicU64,
    publish_failed: AtomicU64,
    received: AtomicU64,
    inbound_dropped: AtomicU64,
    receive_failed: AtomicU64,
}

/// A copy of [`TransportStats`] at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportCounters {
    /// Samples handed to DDS.
    pub published: u64,
    /// Samples DDS refused (e.g. reliable send window full).
    pub publish_failed: u64,
    /// Samples delivered into an inbound channel.
    pub received: u64,
    /// Samples dropped because the application's inbound channel was full.
    pub inbound_dropped: u64,
    /// Samples that could not be read or decoded.
    pub receive_failed: u64,
}

impl TransportStats {
    pub fn snapshot(&self) -> TransportCounters {
        TransportCounters {
            published: self.published.load(Ordering::Relaxed),
            publish_failed: self.publish_failed.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            inbound_dropped: self.inbound_dropped.load(Ordering::Relaxed),
            receive_failed: self.receive_failed.load(Ordering::Relaxed),
        }
    }
}

/// Declares the node's topics, then starts the transport.
pub struct TransportBuilder {
    node: NodeSpec,
    live: Option<LiveParameters>,
    declared: HashSet<(Direction, String)>,
    outbound: Vec<OutboundRoute>,
    inbound: Vec<InboundRoute>,
    servers: Vec<ServerRoute>,
}

/// What a declared name is for: the same name may be published and
/// subscribed (a loopback), but not declared twice for one use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Direction {
    Publish,
    Subscribe,
    // Services and actions are declared on the default backend only.
    #[cfg_attr(feature = "ros-r2r", allow(dead_code))]
    Serve,
}

impl TransportBuilder {
    pub fn new(node: NodeSpec) -> Self {
        Self {
            node,
            live: None,
            declared: HashSet::new(),
            outbound: Vec::new(),
            inbound: Vec::new(),
            servers: Vec::new(),
        }
    }

    /// Publish `M` on `topic` (`/abs`, `~/private` or relative). Returns the
    /// sending end; the application should `try_send` so a stalled transport
    /// costs it a dropped sample, never a blocked tick.
    pub fn publish<M: RosMessage>(
        &mut self,
        topic: &str,
        qos: QosSpec,
        capacity: usize,
    ) -> Result<Sender<M>, RosError> {
        let topic = self.declare(Direction::Publish, topic, capacity)?;
        let (tx, rx) = bounded(capacity);
        let route = Outbound { topic, qos, rx };
        self.outbound.push(Box::new(move |node, stats| {
            node.attach_outbound(route, stats)
        }));
        Ok(tx)
    }

    /// Subscribe to `M` on `topic`. When the returned channel is full, new
    /// samples are dropped and counted in [`TransportCounters::inbound_dropped`].
    pub fn subscribe<M: RosMessage>(
        &mut self,
        topic: &str,
        qos: QosSpec,
        capacity: usize,
    ) -> Result<Receiver<M>, RosError> {
        let topic = self.declare(Direction::Subscribe, topic, capacity)?;
        let (tx, rx) = bounded(capacity);
        let route = Inbound { topic, qos, tx };
        self.inbound.push(Box::new(move |node, stats| {
            node.attach_inbound(route, stats)
        }));
        Ok(rx)
    }

    /// Lets `ros2 param set` change the parameters `check` recognises
    /// (`None` = read-only); accepted changes arrive on the returned channel.
    pub fn live_parameters(&mut self, check: LiveCheck) -> Receiver<(String, ParamValue)> {
        let (changes, rx) = bounded(16);
        self.live = Some(LiveParameters { check, changes });
        rx
    }

    /// Answer `S` calls on `name` with `answer`, which runs on the transport's
    /// spin thread and so must be quick (a lookup, not a computation).
    /// Default backend only (see `motif_interfaces`).
    #[cfg(not(feature = "ros-r2r"))]
    pub fn serve<S: RosService>(
        &mut self,
        name: &str,
        answer: impl Fn(S::Request) -> S::Response + Send + 'static,
    ) -> Result<(), RosError> {
        let name = self.declare(Direction::Serve, name, 1)?;
        let route = ServiceRoute::<S> {
            name,
            answer: Box::new(answer),
        };
        self.inbound
            .push(Box::new(move |node, stats| node.serve(route, stats)));
        Ok(())
    }

    /// Serve the action `A` on `name`: goals that pass `check` arrive as
    /// [`GoalEvent`]s, and the application ends each with a
    /// [`GoalUpdate::End`]. Both channels hold `capacity`. Default backend
    /// only (see `motif_interfaces`).
    #[cfg(not(feature = "ros-r2r"))]
    pub fn serve_action<A: RosAction>(
        &mut self,
        name: &str,
        check: GoalCheck<A::Goal>,
        capacity: usize,
    ) -> Result<ActionEnds<A>, RosError> {
        let name = self.declare(Direction::Serve, name, capacity)?;
        let (events_tx, events) = bounded(capacity);
        let (updates, updates_rx) = bounded(capacity);
        let route = ActionRoute::<A> {
            name,
            check,
            events: events_tx,
            updates: updates_rx,
        };
        self.servers.push(Box::new(move |node, stats, stop| {
            node.serve_action(route, stats, stop)
        }));
        Ok(ActionEnds { events, updates })
    }

    fn declare(
        &mut self,
        direction: Direction,
        topic: &str,
        capacity: usize,
    ) -> Result<String, RosError> {
        let full = self.node.resolve_topic(topic)?;
        if capacity == 0 {
            // A zero-capacity crossbeam channel is a rendezvous: try_send would
            // fail unless the transport happens to be waiting at that instant.
            return Err(RosError::ZeroCapacity { topic: full });
        }
        if !self.declared.insert((direction, full.clone())) {
            return Err(RosError::DuplicateTopic { topic: full });
        }
        Ok(full)
    }

    /// Create the node and endpoints on the transport thread and wait until
    /// they exist. Errors in that set-up are returned here rather than logged
    /// from a thread.
    pub fn spawn(self) -> Result<Transport, RosError> {
        let stats = Arc::new(TransportStats::default());
        let (ready_tx, ready_rx) = bounded::<Result<(), RosError>>(1);
        let (stop_tx, stop_rx) = bounded::<()>(1);
        let routes = Routes {
            node: self.node,
            live: self.live,
            outbound: self.outbound,
            inbound: self.inbound,
            servers: self.servers,
            stats: Arc::clone(&stats),
            stop: stop_rx,
            ready: ready_tx,
        };
        let thread = std::thread::Builder::new()
            .name("ros-transport".into())
            .spawn(move || backend::run(routes))
            .map_err(|e| RosError::Thread(format!("spawn: {e}")))?;
        let mut transport = Transport {
            stop: Some(stop_tx),
            thread: Some(thread),
            stats,
        };
        match ready_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(())) => Ok(transport),
            Ok(Err(e)) => {
                // The set-up error is the one worth reporting.
                let _ = transport.stop_and_join();
                Err(e)
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = transport.stop_and_join();
                Err(RosError::Thread(
                    "transport thread died during set-up".into(),
                ))
            }
            Err(RecvTimeoutError::Timeout) => {
                // The thread may be stuck inside the middleware; dropping the handle
                // detaches it rather than hanging the caller.
                transport.stop.take();
                transport.thread.take();
                Err(RosError::Thread("DDS start-up timed out".into()))
            }
        }
    }
}

/// The running transport. Dropping it stops the threads and lets RustDDS
/// tell peers that this node's endpoints are gone.
pub struct Transport {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<TransportStats>,
}

impl Transport {
    pub fn stats(&self) -> Arc<TransportStats> {
        Arc::clone(&self.stats)
    }

    pub fn shutdown(mut self) -> Result<(), RosError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), RosError> {
        // Dropping the sender wakes the select with a disconnect.
        self.stop.take();
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| RosError::Thread("transport thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_join() {
            tracing::error!("{e}");
        }
    }
}

/// What a backend's thread body receives: the declared routes, the shared
/// counters, the stop signal and where to report that set-up is done.
pub(crate) struct Routes {
    pub node: NodeSpec,
    pub live: Option<LiveParameters>,
    pub outbound: Vec<OutboundRoute>,
    pub inbound: Vec<InboundRoute>,
    #[cfg_attr(feature = "ros-r2r", allow(dead_code))]
    pub servers: Vec<ServerRoute>,
    pub stats: Arc<TransportStats>,
    pub stop: Receiver<()>,
    pub ready: Sender<Result<(), RosError>>,
}

/// Block until a channel has data (or the stop signal), publish it, repeat.
pub(crate) fn pump_outbound(mut pumps: Vec<Box<dyn OutboundPump>>, stop: &Receiver<()>) {
    loop {
        let mut sel = Select::new();
        let stop_index = sel.recv(stop);
        let indices: Vec<usize> = pumps.iter().map(|p| p.register(&mut sel)).collect();
        let ready = sel.ready();
        if ready == stop_index {
            return;
        }
        if let Some(i) = indices.iter().position(|&ix| ix == ready) {
            if !pumps[i].drain() {
                // The application dropped its Sender: stop publishing there.
                let gone = pumps.swap_remove(i);
                tracing::debug!("outbound {} closed by the application", gone.topic());
            }
        }
    }
}

/// What a backend's node does with the declared routes: make the publisher
/// for `M` behind a pump, or the task that feeds a subscription's channel.
/// Each backend implements it in its own file; the builder captures the
/// message type when a topic is declared, so nothing here names a backend.
pub(crate) trait BackendNode {
    fn attach_outbound<M: RosMessage>(
        &mut self,
        route: Outbound<M>,
        stats: Arc<TransportStats>,
    ) -> Result<Box<dyn OutboundPump>, RosError>;

    fn attach_inbound<M: RosMessage>(
        &mut self,
        route: Inbound<M>,
        stats: Arc<TransportStats>,
    ) -> Result<BoxFuture<'static, ()>, RosError>;
}

/// A declared publication, bound to the backend's node when the transport
/// thread has created it.
pub(crate) type OutboundRoute = Box<
    dyn FnOnce(
            &mut backend::TransportNode,
            Arc<TransportStats>,
        ) -> Result<Box<dyn OutboundPump>, RosError>
        + Send,
>;

/// A declared subscription; binding it yields the task that feeds the
/// inbound channel.
pub(crate) type InboundRoute = Box<
    dyn FnOnce(
            &mut backend::TransportNode,
            Arc<TransportStats>,
        ) -> Result<BoxFuture<'static, ()>, RosError>
        + Send,
>;

/// A declared action server; binding it starts its thread, which ends when
/// the stop signal (the receiver given) disconnects.
pub(crate) type ServerRoute = Box<
    dyn FnOnce(
            &mut backend::TransportNode,
            Arc<TransportStats>,
            Receiver<()>,
        ) -> Result<JoinHandle<()>, RosError>
        + Send,
>;

pub(crate) trait OutboundPump {
    fn topic(&self) -> &str;
    fn register<'a>(&'a self, sel: &mut Select<'a>) -> usize;
    /// Publishes what is queued; `false` once the channel is closed and empty.
    fn drain(&self) -> bool;
}

/// A backend's publisher for `M`. Errors are text: they are only counted and
/// logged.
pub(crate) trait Publish<M> {
    fn publish(&self, msg: M) -> Result<(), String>;
}

pub(crate) struct Outbound<M> {
    pub topic: String,
    pub qos: QosSpec,
    pub rx: Receiver<M>,
}

pub(crate) struct Inbound<M> {
    pub topic: String,
    pub qos: QosSpec,
    pub tx: Sender<M>,
}

/// Moves samples from an outbound channel to a backend publisher.
pub(crate) struct Pump<M, P> {
    topic: String,
    rx: Receiver<M>,
    publisher: P,
    stats: Arc<TransportStats>,
}

impl<M: RosMessage, P: Publish<M> + 'static> Pump<M, P> {
    /// The pump for a declared publication once its backend made `publisher`.
    pub(crate) fn boxed(
        route: Outbound<M>,
        publisher: P,
        stats: Arc<TransportStats>,
    ) -> Box<dyn OutboundPump> {
        Box::new(Pump {
            topic: route.topic,
            rx: route.rx,
            publisher,
            stats,
        })
    }
}

impl<M: RosMessage, P: Publish<M>> OutboundPump for Pump<M, P> {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn register<'a>(&'a self, sel: &mut Select<'a>) -> usize {
        sel.recv(&self.rx)
    }

    fn drain(&self) -> bool {
        for _ in 0..DRAIN_BATCH {
            match self.rx.try_recv() {
                Ok(msg) => match self.publisher.publish(msg) {
                    Ok(()) => {
                        self.stats.published.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let n = self.stats.publish_failed.fetch_add(1, Ordering::Relaxed) + 1;
                        if crate::logging::throttled(n) {
                            tracing::warn!("publish on {} failed ({n} so far): {e}", self.topic);
                        }
                    }
                },
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
        true
    }
}

/// Hands a received sample to the application. `false` once nobody listens,
/// so the subscription task can end.
pub(crate) fn deliver<M>(tx: &Sender<M>, msg: M, stats: &TransportStats, topic: &str) -> bool {
    match tx.try_send(msg) {
        Ok(()) => {
            stats.received.fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(TrySendError::Full(_)) => {
            let n = stats.inbound_dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if crate::logging::throttled(n) {
                tracing::warn!("inbound {topic} full, dropped ({n} so far)");
            }
            true
        }
        Err(TrySendError::Disconnected(_)) => false,
    }
}

/// Counts (and sparsely logs) a sample that could not be read or decoded.
/// r2r's subscription streams yield only decoded messages, so only the
/// `ros2-client` backend calls it.
#[cfg_attr(feature = "ros-r2r", allow(dead_code))]
pub(crate) fn receive_failed(stats: &TransportStats, topic: &str, error: impl std::fmt::Debug) {
    let n = stats.receive_failed.fetch_add(1, Ordering::Relaxed) + 1;
    if crate::logging::throttled(n) {
        tracing::warn!("receive on {topic} failed ({n} so far): {error:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros::msgs::StringMsg;

    #[test]
    fn builder_rejects_wiring_mistakes() {
        let mut b = TransportBuilder::new(NodeSpec::new("n"));
        assert!(matches!(
            b.publish::<StringMsg>("/a", QosSpec::DEFAULT, 0),
            Err(RosError::ZeroCapacity { .. })
        ));
        assert!(b.publish::<StringMsg>("~/a", QosSpec::DEFAULT, 1).is_ok());
        assert!(matches!(
            b.publish::<StringMsg>("/n/a", QosSpec::DEFAULT, 1),
            Err(RosError::DuplicateTopic { .. })
        ));
        // Same topic in the other direction is legitimate (e.g. loopback).
        assert!(b
            .subscribe::<StringMsg>("/n/a", QosSpec::DEFAULT, 1)
            .is_ok());
        assert!(matches!(
            b.subscribe::<StringMsg>("bad topic", QosSpec::DEFAULT, 1),
            Err(RosError::InvalidName { .. })
        ));
    }
}
