//! Command-line client for a running `motif_controller`, over the same DDS
//! transport: no ROS install needed.
//!
//! ```sh
//! motifctl list
//! motifctl run circle wave
//! motifctl play circle wave --speed 0.8   # the ~/play_motifs action: waits, Ctrl-C cancels
//! motifctl append reach_left
//! motifctl speed 1.5
//! motifctl stop | hold
//! motifctl status --watch
//! ```

use std::{
    io::Write,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use motif::ros::{msgs::StringMsg, NodeSpec, QosSpec, TransportBuilder};

#[derive(Parser)]
#[command(about = "Send motif commands to motif_controller and read its status")]
struct Cli {
    /// Node name of the controller.
    #[arg(long, default_value = "motif_controller", global = true)]
    node: String,
    /// Namespace of the controller.
    #[arg(long, default_value = "", global = true)]
    namespace: String,
    /// Seconds to wait for the controller.
    #[arg(long, default_value_t = 10.0, global = true)]
    timeout: f64,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the library's motifs and their durations.
    List,
    /// Replace the queue with these motifs and start now.
    Run {
        #[arg(required = true)]
        motifs: Vec<String>,
    },
    /// Play motifs through the `~/play_motifs` action: prints the
    /// feedback, waits for the end, and cancels (a decelerating stop) on
    /// Ctrl-C. Exit status: 0 succeeded, 2 rejected, 3 canceled, 4 aborted.
    Play {
        #[arg(required = true)]
        motifs: Vec<String>,
        /// Queue behind what is playing instead of replacing it.
        #[arg(long)]
        append: bool,
        /// Speed factor (0 keeps the current one).
        #[arg(long, default_value_t = 0.0)]
        speed: f64,
    },
    /// Add motifs to the end of the queue.
    Append {
        #[arg(required = true)]
        motifs: Vec<String>,
    },
    /// Decelerate to a halt and hold.
    Stop,
    /// Freeze the posture now.
    Hold,
    /// Scale motif time.
    Speed { factor: String },
    /// Send raw command text.
    Send { text: String },
    /// Print the controller status (once, or continuously with --watch).
    Status {
        #[arg(long)]
        watch: bool,
    },
}

fn main() -> ExitCode {
    motif::logging::init("warn,rustdds=off,ros2_client=off");
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("motifctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let base = format!("{}/{}", cli.namespace.trim_end_matches('/'), cli.node);
    let base = if base.starts_with('/') {
        base
    } else {
        format!("/{base}")
    };
    let timeout = Duration::from_secs_f64(cli.timeout.max(0.1));
    if let Cmd::Play {
        motifs,
        append,
        speed,
    } = &cli.cmd
    {
        return play(&base, motifs, *append, *speed, timeout);
    }
    let mut b = TransportBuilder::new(NodeSpec::new(format!("motifctl_{}", std::process::id())));
    let seq_tx = b.publish::<StringMsg>(&format!("{base}/sequence"), QosSpec::DEFAULT, 4)?;
    let status_rx = b.subscribe::<StringMsg>(&format!("{base}/status"), QosSpec::DEFAULT, 64)?;
    let motifs_rx = b.subscribe::<StringMsg>(&format!("{base}/motifs"), QosSpec::LATCHED, 4)?;
    let transport = b.spawn().context("starting the DDS transport")?;

    let text = match &cli.cmd {
        Cmd::List => {
            let msg = motifs_rx
                .recv_timeout(timeout)
                .with_context(|| format!("no motif list from {base} within {timeout:?}; is the controller running (same ROS_DOMAIN_ID)?"))?;
            let list: Vec<serde_json::Value> =
                serde_json::from_str(&msg.data).context("malformed motif list")?;
            for m in list {
                println!(
                    "{:<16} {:>6.2} s",
                    m["name"].as_str().unwrap_or("?"),
                    m["duration_s"].as_f64().unwrap_or(f64::NAN)
                );
            }
            drop(transport);
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::Status { watch } => {
            let deadline = Instant::now() + timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let msg = if *watch {
                    status_rx.recv().context("transport closed")?
                } else {
                    status_rx
                        .recv_timeout(left)
                        .with_context(|| format!("no status from {base} within {timeout:?}"))?
                };
                if *watch {
                    // A closed pipe (e.g. `| head`) ends the watch quietly.
                    if writeln!(std::io::stdout(), "{}", msg.data).is_err() {
                        return Ok(ExitCode::SUCCESS);
                    }
                } else {
                    let v: serde_json::Value =
                        serde_json::from_str(&msg.data).context("malformed status")?;
                    println!("{}", serde_json::to_string_pretty(&v)?);
                    drop(transport);
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        Cmd::Play { .. } => unreachable!("handled above"),
        Cmd::Run { motifs } => motifs.join(" "),
        Cmd::Append { motifs } => format!("append {}", motifs.join(" ")),
        Cmd::Stop => "stop".into(),
        Cmd::Hold => "hold".into(),
        Cmd::Speed { factor } => format!("speed {factor}"),
        Cmd::Send { text } => text.clone(),
    };

    // A status message proves discovery in one direction; the controller's
    // reader matches ours at about the same time, so wait a little more.
    let first = status_rx
        .recv_timeout(timeout)
        .with_context(|| format!("no status from {base} within {timeout:?}; is the controller running (same ROS_DOMAIN_ID)?"))?;
    std::thread::sleep(Duration::from_millis(500));
    // Ids rise by one per command the node receives: ours is the first
    // after every id seen so far whose echo is our text. Matching by text
    // alone would take an earlier identical command's outcome for ours.
    let mut seen = newest_id(&first.data);
    for msg in status_rx.try_iter() {
        seen = seen.max(newest_id(&msg.data));
    }
    let echo = motif::node::echo(&text);
    seq_tx.send(StringMsg::new(text.clone()))?;
    let deadline = Instant::now() + timeout;
    while let Ok(msg) = status_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&msg.data) else {
            continue;
        };
        let ours = v["recent_commands"].as_array().and_then(|recent| {
            recent.iter().find(|c| {
                c["id"].as_u64().is_some_and(|id| id > seen) && c["text"].as_str() == Some(&echo)
            })
        });
        let Some(lc) = ours else {
            continue;
        };
        match lc["accepted"].as_bool() {
            Some(true) => {
                println!(
                    "accepted: {text} (phase {}, motif {}, queue {})",
                    v["phase"], v["motif"], v["queue"]
                );
                return Ok(ExitCode::SUCCESS);
            }
            Some(false) => {
                println!("rejected: {}", lc["reason"].as_str().unwrap_or("?"));
                return Ok(ExitCode::from(2));
            }
            None => continue,
        }
    }
    bail!("no acknowledgement of `{text}` in the controller status within {timeout:?}")
}

/// `motifctl play`: one goal on `{base}/play_motifs`, to its end.
#[cfg(not(feature = "ros-r2r"))]
fn play(
    base: &str,
    motifs: &[String],
    append: bool,
    speed: f64,
    timeout: Duration,
) -> Result<ExitCode> {
    use motif::ros::{
        action_client::{run_goal, status_word, GoalOutcome},
        motif_interfaces::{PlayMotifs, PlayMotifsGoal},
    };
    use std::sync::{atomic::AtomicBool, Arc};
    let cancel = Arc::new(AtomicBool::new(false));
    // The first Ctrl-C cancels the goal (and waits for its end); a second
    // one, with the goal still not ended, exits at once.
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        130,
        Arc::clone(&cancel),
    )
    .and_then(|_| signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&cancel)))
    .context("installing the Ctrl-C handler")?;
    // The node's status says why a goal was refused; the action cannot.
    let mut b = TransportBuilder::new(NodeSpec::new(format!("motifctl_{}", std::process::id())));
    let status_rx = b.subscribe::<StringMsg>(&format!("{base}/status"), QosSpec::DEFAULT, 64)?;
    let transport = b.spawn().context("starting the DDS transport")?;
    let goal = PlayMotifsGoal {
        motifs: motifs.to_vec(),
        append,
        speed,
    };
    let spec = NodeSpec::new(format!("motifctl_play_{}", std::process::id()));
    let mut last = String::new();
    let outcome = run_goal::<PlayMotifs>(
        &spec,
        &format!("{base}/play_motifs"),
        goal,
        timeout,
        &cancel,
        |f| {
            let line = format!(
                "[{}/{}] {} {} {:.0}%",
                f.index + 1,
                motifs.len(),
                f.current_motif,
                f.phase,
                f.progress * 100.0
            );
            // Feedback comes at the status rate; print when it changes much.
            if line != last {
                println!("{line}");
                last = line;
            }
        },
    )
    .with_context(|| {
        format!(
            "playing through {base}/play_motifs; is the controller running (same ROS_DOMAIN_ID)?"
        )
    })?;
    let code = match outcome {
        GoalOutcome::Rejected => {
            let text = format!("goal: {}", motifs.join(" "));
            let reason = rejection(&status_rx, &motif::node::echo(&text), timeout);
            println!(
                "rejected: {}",
                reason
                    .as_deref()
                    .unwrap_or("(the controller gave no reason)")
            );
            ExitCode::from(2)
        }
        GoalOutcome::Ended { status, result } => {
            let word = status_word(status);
            if result.error.is_empty() {
                println!(
                    "{word}: {} of {} motifs played",
                    result.motifs_completed,
                    motifs.len()
                );
            } else {
                println!(
                    "{word}: {} of {} motifs played ({})",
                    result.motifs_completed,
                    motifs.len(),
                    result.error
                );
            }
            ExitCode::from(match word {
                "succeeded" => 0,
                "canceled" => 3,
                _ => 4,
            })
        }
    };
    drop(transport);
    Ok(code)
}

#[cfg(feature = "ros-r2r")]
fn play(_: &str, _: &[String], _: bool, _: f64, _: Duration) -> Result<ExitCode> {
    bail!("`play` uses motif_interfaces, which this r2r build has no bindings for; use `run`")
}

/// The reason the node's status gives for a refused goal (shown as `echo`).
#[cfg(not(feature = "ros-r2r"))]
fn rejection(
    status_rx: &crossbeam_channel::Receiver<StringMsg>,
    echo: &str,
    timeout: Duration,
) -> Option<String> {
    let deadline = Instant::now() + timeout.min(Duration::from_secs(2));
    while let Ok(msg) = status_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&msg.data) else {
            continue;
        };
        let found = v["recent_commands"].as_array().and_then(|recent| {
            recent
                .iter()
                .rev()
                .find(|c| c["text"].as_str() == Some(echo) && c["accepted"] == false)
                .and_then(|c| c["reason"].as_str().map(String::from))
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The id of the newest command in a status message (0 if none).
fn newest_id(status: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(status)
        .ok()
        .and_then(|v| v["last_command"]["id"].as_u64())
        .unwrap_or(0)
}
