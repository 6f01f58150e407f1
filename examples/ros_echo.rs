//! Interop probe: publishes a Float64MultiArray and a String at a fixed rate
//! and prints every String received, so another ROS 2 / DDS stack can be
//! checked against ours.
//!
//! Sample k carries `data = [k, k / 2, -1.25]` and text `motif k`, which a peer
//! can verify without sharing state with this program.
//!
//! ```sh
//! cargo run --example ros_echo -- --rate 20 --duration 10
//! ros2 topic echo /echo/array   # from a real ROS 2 install, if you have one
//! ros2 topic pub /echo/reply std_msgs/msg/String "{data: hi}"
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use motif::ros::{
    msgs::{Float64MultiArray, StringMsg},
    NodeSpec, QosSpec, TransportBuilder,
};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "ros_echo")]
    node: String,
    #[arg(long, default_value = "/echo/array")]
    array_topic: String,
    #[arg(long, default_value = "/echo/text")]
    text_topic: String,
    #[arg(long, default_value = "/echo/reply")]
    reply_topic: String,
    /// Publish rate in Hz.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Stop early once this many replies arrived (0: never).
    #[arg(long, default_value_t = 0)]
    replies: usize,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    anyhow::ensure!(
        args.rate.is_finite() && args.rate > 0.0,
        "--rate must be positive"
    );
    anyhow::ensure!(
        args.duration.is_finite() && args.duration >= 0.0,
        "--duration must be non-negative"
    );

    let mut builder = TransportBuilder::new(NodeSpec::new(&args.node));
    let array_tx = builder.publish::<Float64MultiArray>(&args.array_topic, QosSpec::DEFAULT, 16)?;
    let text_tx = builder.publish::<StringMsg>(&args.text_topic, QosSpec::DEFAULT, 16)?;
    let reply_rx = builder.subscribe::<StringMsg>(&args.reply_topic, QosSpec::DEFAULT, 16)?;
    let transport = builder.spawn()?;

    let period = Duration::from_secs_f64(1.0 / args.rate);
    let end = Instant::now() + Duration::from_secs_f64(args.duration);
    let mut next = Instant::now();
    let mut replies = 0usize;
    let mut k = 0u64;
    while Instant::now() < end && (args.replies == 0 || replies < args.replies) {
        let kf = k as f64;
        // try_send: a stalled transport must cost a sample, not a tick.
        let _ = array_tx.try_send(Float64MultiArray::from_slice(&[kf, kf / 2.0, -1.25]));
        let _ = text_tx.try_send(StringMsg::new(format!("motif {k}")));
        while let Ok(msg) = reply_rx.try_recv() {
            replies += 1;
            println!("RECEIVED {}", msg.data);
        }
        k += 1;
        next += period;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let counters = transport.stats().snapshot();
    transport.shutdown()?;
    println!("SENT {k} REPLIES {replies} COUNTERS {counters:?}");
    Ok(())
}
