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
//! subscriptions and the `ros2-client` spinner on a `futures` executor and
//! pushes decoded messages into the inbound channels.
//!
//! A second backend (r2r) needs its own node type and an `attach` for the two
//! route kinds below; the builder, channels, counters and thread shape stay.

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
use futures::future::{self, BoxFuture, FutureExt};
use ros2_client::{Publisher, Subscription};

use super::{
    error::RosError,
    msgs::RosMessage,
    node::{NodeSpec, QosSpec, RosNode},
};

/// Bound on DDS participant start-up, so a broken network setup is an error
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

/// Log the 1st, 2nd, 4th, 8th... occurrence so a persistent fault is visible
/// without flooding the log at the loop rate.
fn should_log(count: u64) -> bool {
    count.is_power_of_two()
}

/// Declares the node's topics, then starts the transport.
pub struct TransportBuilder {
    node: NodeSpec,
    declared: HashSet<(bool, String)>,
    outbound: Vec<Box<dyn OutboundRoute>>,
    inbound: Vec<Box<dyn InboundRoute>>,
}

impl TransportBuilder {
    pub fn new(node: NodeSpec) -> Self {
        Self {
            node,
            declared: HashSet::new(),
            outbound: Vec::new(),
            inbound: Vec::new(),
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
        let topic = self.declare(true, topic, capacity)?;
        let (tx, rx) = bounded(capacity);
        self.outbound.push(Box::new(Outbound { topic, qos, rx }));
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
        let topic = self.declare(false, topic, capacity)?;
        let (tx, rx) = bounded(capacity);
        self.inbound.push(Box::new(Inbound { topic, qos, tx }));
        Ok(rx)
    }

    fn declare(
        &mut self,
        outbound: bool,
        topic: &str,
        capacity: usize,
    ) -> Result<String, RosError> {
        let full = self.node.resolve_topic(topic)?;
        if capacity == 0 {
            // A zero-capacity crossbeam channel is a rendezvous: try_send would
            // fail unless the transport happens to be waiting at that instant.
            return Err(RosError::ZeroCapacity { topic: full });
        }
        if !self.declared.insert((outbound, full.clone())) {
            return Err(RosError::DuplicateTopic { topic: full });
        }
        Ok(full)
    }

    /// Create the DDS participant, node and endpoints on the transport
    /// thread and wait until they exist. Errors in that set-up are returned
    /// here rather than logged from a thread.
    pub fn spawn(self) -> Result<Transport, RosError> {
        let stats = Arc::new(TransportStats::default());
        let (ready_tx, ready_rx) = bounded::<Result<(), RosError>>(1);
        let (stop_tx, stop_rx) = bounded::<()>(1);
        let thread_stats = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("ros-transport".into())
            .spawn(move || {
                run_transport(
                    self.node,
                    self.outbound,
                    self.inbound,
                    thread_stats,
                    stop_rx,
                    ready_tx,
                )
            })
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
                // The thread may be stuck inside DDS; dropping the handle
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

fn run_transport(
    spec: NodeSpec,
    outbound: Vec<Box<dyn OutboundRoute>>,
    inbound: Vec<Box<dyn InboundRoute>>,
    stats: Arc<TransportStats>,
    stop: Receiver<()>,
    ready: Sender<Result<(), RosError>>,
) {
    let setup = (|| {
        let mut node = RosNode::new(spec)?;
        let pumps = outbound
            .into_iter()
            .map(|r| r.attach(&mut node, Arc::clone(&stats)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tasks = inbound
            .into_iter()
            .map(|r| r.attach(&mut node, Arc::clone(&stats)))
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
        Ok::<_, RosError>((node, pumps, spin, quit_tx))
    })();

    let (node, pumps, spin, quit_tx) = match setup {
        Ok(parts) => parts,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    tracing::info!(
        "ROS transport up: node {}{} on domain {}",
        node.spec().namespace,
        node.spec().name,
        node.spec().resolve_domain_id().unwrap_or(0)
    );

    pump_outbound(pumps, &stop);

    // Node first: its drop tells the spinner to stop while the spinner still
    // listens (the other order logs a spurious error). Subscriptions keep the
    // DDS participant alive until the spin thread has dropped them.
    drop(node);
    drop(quit_tx);
    if spin.join().is_err() {
        tracing::error!("ros-spin thread panicked");
    }
}

/// Block until a channel has data (or the stop signal), publish it, repeat.
fn pump_outbound(mut pumps: Vec<Box<dyn OutboundPump>>, stop: &Receiver<()>) {
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

trait OutboundRoute: Send {
    fn attach(
        self: Box<Self>,
        node: &mut RosNode,
        stats: Arc<TransportStats>,
    ) -> Result<Box<dyn OutboundPump>, RosError>;
}

trait InboundRoute: Send {
    fn attach(
        self: Box<Self>,
        node: &mut RosNode,
        stats: Arc<TransportStats>,
    ) -> Result<BoxFuture<'static, ()>, RosError>;
}

trait OutboundPump {
    fn topic(&self) -> &str;
    fn register<'a>(&'a self, sel: &mut Select<'a>) -> usize;
    /// Publishes what is queued; `false` once the channel is closed and empty.
    fn drain(&self) -> bool;
}

struct Outbound<M> {
    topic: String,
    qos: QosSpec,
    rx: Receiver<M>,
}

struct Inbound<M> {
    topic: String,
    qos: QosSpec,
    tx: Sender<M>,
}

struct DdsOutbound<M: RosMessage> {
    topic: String,
    rx: Receiver<M>,
    publisher: Publisher<M>,
    stats: Arc<TransportStats>,
}

impl<M: RosMessage> OutboundRoute for Outbound<M> {
    fn attach(
        self: Box<Self>,
        node: &mut RosNode,
        stats: Arc<TransportStats>,
    ) -> Result<Box<dyn OutboundPump>, RosError> {
        let publisher = node.publisher::<M>(&self.topic, self.qos)?;
        Ok(Box::new(DdsOutbound {
            topic: self.topic,
            rx: self.rx,
            publisher,
            stats,
        }))
    }
}

impl<M: RosMessage> OutboundPump for DdsOutbound<M> {
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
                        if should_log(n) {
                            tracing::warn!("publish on {} failed ({n} so far): {e:?}", self.topic);
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

impl<M: RosMessage> InboundRoute for Inbound<M> {
    fn attach(
        self: Box<Self>,
        node: &mut RosNode,
        stats: Arc<TransportStats>,
    ) -> Result<BoxFuture<'static, ()>, RosError> {
        let sub: Subscription<M> = node.subscription::<M>(&self.topic, self.qos)?;
        let Inbound { topic, tx, .. } = *self;
        Ok(async move {
            loop {
                match sub.async_take().await {
                    Ok((msg, _info)) => match tx.try_send(msg) {
                        Ok(()) => {
                            stats.received.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Full(_)) => {
                            let n = stats.inbound_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                            if should_log(n) {
                                tracing::warn!("inbound {topic} full, dropped ({n} so far)");
                            }
                        }
                        // Nobody listens any more; keep the reader but stop work.
                        Err(TrySendError::Disconnected(_)) => return,
                    },
                    Err(e) => {
                        let n = stats.receive_failed.fetch_add(1, Ordering::Relaxed) + 1;
                        if should_log(n) {
                            tracing::warn!("receive on {topic} failed ({n} so far): {e:?}");
                        }
                    }
                }
            }
        }
        .boxed())
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
