//! `motif_train`: demonstrations in, a motif library out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use motif::library::limits::{self, MAX_PREP_TAU};
use motif::library::{Library, Mode};
use motif::model::Variant;
use motif::plots;
use motif::robot::{ArmModel, Kinematics};
use motif::train::config::TrainConfig;
use motif::train::curve::{Curve, CurvePoint};
use motif::train::demo::Demo;
use motif::train::eval::{self, EvalOptions, EvalReport, RATIO_TARGET};
use motif::train::fit;
use motif::train::import::{self, ImportOptions, Recorded};
use motif::train::report;
use serde::Serialize;

#[derive(Parser)]
#[command(version, about = "Train, extend and inspect libraries of motor motifs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a new library from a YAML training config.
    Train {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing library at --out (only a motif library: any
        /// other file or directory there is left alone and is an error).
        #[arg(long)]
        force: bool,
        /// Also score the accuracy every --curve-every steps (in distribution,
        /// with BPTT's readout and refitted) and write the curve here as JSON;
        /// a PNG of it goes beside it. Scoring time is not training time.
        #[arg(long)]
        curve: Option<PathBuf>,
        #[arg(long, default_value_t = 100, requires = "curve")]
        curve_every: usize,
    },
    /// Add a motif to a library, training only its own parameters.
    Add {
        #[arg(long)]
        library: PathBuf,
        /// The demonstration (docs/demo_format.md).
        #[arg(
            long,
            required_unless_present_any = ["from_config", "bag"],
            conflicts_with_all = ["from_config", "bag"]
        )]
        demo: Option<PathBuf>,
        /// Or take the demonstration of the motif `--name` in this training
        /// config (a CSV or a generator, as `train` would).
        #[arg(long, conflicts_with = "bag")]
        from_config: Option<PathBuf>,
        /// Or import it from a recorded bag, as `import` does (the library's
        /// outputs are the joints taken).
        #[command(flatten)]
        bag: BagArgs,
        #[arg(long)]
        name: String,
        /// Training steps [default: the library's]
        #[arg(long)]
        steps: Option<usize>,
        /// Adam's peak learning rate [default: 1e-2 for the input design,
        /// the library's for the loop design; see docs/recording.md]
        #[arg(long)]
        lr: Option<f32>,
    },
    /// Turn recorded joint motion (a rosbag2 MCAP bag or a bare `.mcap`
    /// file) into a demonstration CSV (docs/demo_format.md).
    Import {
        #[command(flatten)]
        bag: BagArgs,
        /// The joints to keep, in its order.
        #[arg(long, default_value = "urdf/arm.urdf")]
        urdf: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Evaluate a library in distribution and under zero-shot chaining.
    Eval {
        #[arg(long)]
        library: PathBuf,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
        /// Write PNG plots (chained sequence, preparation transient) here.
        #[arg(long)]
        plots: Option<PathBuf>,
        /// Random chained sequences besides all ordered pairs.
        #[arg(long, default_value_t = 50)]
        sequences: usize,
        #[arg(long, default_value_t = 10)]
        sequence_len: usize,
        #[arg(long, default_value_t = 12345)]
        seed: u64,
        /// Prepare for this many τ before each chained motif instead of the
        /// library's length (thalamocortical libraries; in-distribution starts
        /// keep the library's).
        #[arg(long)]
        prep_tau: Option<f32>,
        /// Mid-motif starts per ordered pair for the preemption figures
        /// (chaining from a motif cut at 20–80% of its length); 0 skips them.
        #[arg(long, default_value_t = 3)]
        preemption_starts: usize,
    },
    /// Collect `<family>_n<N>_<mode>[_loop][_s<seed>][_add].eval.json` files
    /// into one JSON file and print the Markdown results tables.
    Report {
        /// Directory with the `*.eval.json` files of scripts/reproduce.sh.
        #[arg(long)]
        runs: PathBuf,
        /// Where to write the combined JSON.
        #[arg(long)]
        json: PathBuf,
        /// Where to draw the preparation-length sweep (`<runs>/prep_sweep/`,
        /// files `<run>_prep<T>.eval.json`), if there is one.
        #[arg(long)]
        sweep_plot: Option<PathBuf>,
        /// Where to draw the chaining ratio against N.
        #[arg(long)]
        size_plot: Option<PathBuf>,
        /// The published-stream figures (`PUBLISHED_STREAM_JSON` of
        /// tests/published_stream.rs) to add as a table.
        #[arg(long)]
        published: Option<PathBuf>,
    },
    /// Draw each motif's end-effector path (top and side views, from the
    /// URDF's forward kinematics): what the network produces, over its
    /// demonstration. The library's outputs must be the URDF's joints.
    Plot {
        #[arg(long)]
        library: PathBuf,
        #[arg(long, default_value = "urdf/arm.urdf")]
        urdf: PathBuf,
        /// The PNG to write.
        #[arg(long, default_value = "task_space.png")]
        out: PathBuf,
        /// Seed of each motif's in-distribution start.
        #[arg(long, default_value_t = 12345)]
        seed: u64,
    },
    /// Show a library's motifs, durations, sizes and errors.
    Inspect {
        library: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct BagArgs {
    /// A rosbag2 bag directory (MCAP storage) or an `.mcap` file.
    #[arg(long)]
    bag: Option<PathBuf>,
    /// sensor_msgs/JointState or trajectory_msgs/JointTrajectory.
    #[arg(long, default_value = "/joint_states", requires = "bag")]
    topic: String,
    /// Keep the motion from this many seconds after the first message.
    #[arg(long, requires = "bag")]
    start: Option<f64>,
    /// … up to this many seconds after the first message.
    #[arg(long, requires = "bag")]
    end: Option<f64>,
    /// Drop still segments at both ends.
    #[arg(long, requires = "bag")]
    trim_still: bool,
    /// Resampling step (s); default the recording's mean step (to 1 µs).
    #[arg(long, requires = "bag")]
    dt: Option<f64>,
}

/// The demo in the bag `args` names, over `joints`.
fn import_bag(args: &BagArgs, joints: &[String]) -> Result<Demo> {
    let bag = args.bag.as_deref().context("--bag is required")?;
    let motion = motif::ros::bag::read_joint_motion(bag, &args.topic)?;
    let recorded: Vec<Recorded> = motion
        .into_iter()
        .map(|m| Recorded {
            t: m.t,
            names: m.names,
            positions: m.positions,
        })
        .collect();
    let opts = ImportOptions {
        start: args.start,
        end: args.end,
        trim_still: args.trim_still,
        dt: args.dt,
    };
    let (demo, r) = import::to_demo(&recorded, joints, &opts)
        .with_context(|| format!("importing {} from {}", args.topic, bag.display()))?;
    if !r.dropped_joints.is_empty() {
        tracing::info!(
            "dropped joints not in the URDF: {}",
            r.dropped_joints.join(", ")
        );
    }
    tracing::info!(
        "{} messages, steps median {:.2} ms max {:.2} ms, resampled to {} rows at {} ms; trimmed still {:.2} s + {:.2} s",
        r.messages,
        r.median_step * 1e3,
        r.max_step * 1e3,
        r.rows,
        r.dt * 1e3,
        r.trimmed.0,
        r.trimmed.1
    );
    Ok(demo)
}

fn progress_bar(steps: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(steps as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} steps, loss {prefix}, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

fn train(
    config: &Path,
    out: &Path,
    force: bool,
    curve_path: Option<&Path>,
    curve_every: usize,
) -> Result<()> {
    if out.exists() {
        if !force {
            bail!(
                "{} already exists; pass --force to replace it",
                out.display()
            );
        }
        // Checked again by `save`; here so a refusal does not wait for training.
        motif::library::check_replaceable(out)?;
    }
    let cfg = TrainConfig::load(config)?;
    tracing::info!(
        config = %config.display(),
        motifs = cfg.motifs.len(),
        n = cfg.network.n,
        steps = cfg.training.steps,
        "training a library"
    );
    let pb = progress_bar(cfg.training.steps, "train");
    // Scored as the library's own refit would be, or plain least squares.
    let ridge = cfg.training.readout_ridge.unwrap_or(0.0);
    let mut curve = curve_path.map(|_| Curve::new(curve_every, 4, ridge));
    let lib = fit::train_library(
        &cfg,
        config,
        &mut |step, loss| {
            pb.set_position(step as u64 + 1);
            pb.set_prefix(format!("{loss:.2e}"));
        },
        curve.as_mut(),
    )?;
    pb.finish();
    lib.save(out)?;
    if let (Some(path), Some(curve)) = (curve_path, &curve) {
        write_curve(path, config, &lib, curve)?;
    }
    for m in &lib.manifest.motifs {
        tracing::info!(motif = %m.name, nmse = m.provenance.nmse, loss = m.provenance.final_loss, "trained");
    }
    tracing::info!(out = %out.display(), seconds = lib.manifest.training.seconds, "library written");
    Ok(())
}

fn write_curve(path: &Path, config: &Path, lib: &Library, curve: &Curve) -> Result<()> {
    let json = serde_json::json!({
        "config": config.display().to_string(),
        "n": lib.manifest.n,
        "motifs": lib.manifest.motifs.len(),
        "points": curve.points,
    });
    std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    let series = |f: fn(&CurvePoint) -> Option<f32>| -> Vec<(f32, f32)> {
        curve
            .points
            .iter()
            .filter_map(|p| Some((p.seconds as f32, f(p)?)))
            .collect()
    };
    let png = path.with_extension("png");
    plots::log_y_lines(
        &png,
        &format!(
            "In-distribution NMSE against training time, N = {}, {} motifs",
            lib.manifest.n,
            lib.manifest.motifs.len()
        ),
        &format!("motif_train train --config {} --curve …", config.display()),
        ("training time (s, scoring excluded)", "NMSE"),
        plots::XAxis::Linear,
        &[
            ("BPTT readout".to_string(), series(|p| Some(p.nmse))),
            ("readout refitted".to_string(), series(|p| p.nmse_refit)),
        ],
    )?;
    tracing::info!(json = %path.display(), png = %png.display(), "accuracy curve written");
    Ok(())
}

/// Where `add` takes its demonstration from.
enum DemoSource<'a> {
    Csv(&'a Path),
    Config(&'a Path),
    Bag(&'a BagArgs),
}

fn add(
    library: &Path,
    source: DemoSource,
    name: &str,
    steps: Option<usize>,
    lr: Option<f32>,
) -> Result<()> {
    let mut lib = Library::load(library)?;
    let defaults = fit::AddOptions::for_library(&lib);
    let opts = fit::AddOptions {
        steps: steps.unwrap_or(defaults.steps),
        lr: lr.unwrap_or(defaults.lr),
    };
    let (demo, demo_path) = match source {
        DemoSource::Csv(path) => (Demo::load(path)?, path.display().to_string()),
        DemoSource::Config(path) => {
            let cfg = TrainConfig::load(path)?;
            let (source, demo) = cfg
                .motifs
                .iter()
                .zip(cfg.demos(path)?)
                .find_map(|(m, demo)| (m.name == name).then_some(demo))
                .with_context(|| format!("{} has no motif named '{name}'", path.display()))?;
            (demo, source)
        }
        DemoSource::Bag(args) => {
            let demo = import_bag(args, &lib.manifest.outputs)?;
            let bag = args.bag.as_deref().unwrap_or(Path::new(""));
            (demo, format!("{} {}", bag.display(), args.topic))
        }
    };
    let pb = progress_bar(opts.steps, name);
    fit::add_motif(
        &mut lib,
        name,
        &demo,
        &demo_path,
        opts,
        &mut |step, loss| {
            pb.set_position(step as u64 + 1);
            pb.set_prefix(format!("{loss:.2e}"));
        },
    )?;
    pb.finish();
    lib.save(library)?;
    let e = lib.manifest.motifs.last().expect("just added");
    tracing::info!(motif = %e.name, nmse = e.provenance.nmse, library = %library.display(), "motif added");
    Ok(())
}

fn inspect(library: &Path, json: bool) -> Result<()> {
    let lib = Library::load(library)?;
    let m = &lib.manifest;
    if json {
        println!("{}", serde_json::to_string_pretty(m)?);
        return Ok(());
    }
    println!("library {}", library.display());
    println!(
        "  variant {:?}, mode {:?}, N = {}, tau = {} s, dt = {} s, preparation {:?} ({} steps)",
        m.variant, m.mode, m.n, m.tau, m.dt, m.preparation.kind, m.preparation.steps
    );
    println!("  outputs: {}", m.outputs.join(", "));
    println!(
        "  {:<16} {:>7} {:>9} {:>11} {:>11}  source",
        "motif", "steps", "seconds", "final loss", "nmse"
    );
    for e in &m.motifs {
        println!(
            "  {:<16} {:>7} {:>9.3} {:>11.3e} {:>11.3e}  {} ({})",
            e.name,
            e.steps,
            e.duration_s,
            e.provenance.final_loss,
            e.provenance.nmse,
            e.provenance.source,
            e.provenance.trained_by
        );
    }
    Ok(())
}

/// `eval --json` output: the report plus what it was measured on.
#[derive(Serialize)]
struct EvalOutput {
    library: String,
    network_variant: &'static str,
    /// The training seed.
    seed: u64,
    n: usize,
    tau: f32,
    dt: f32,
    preparation: motif::library::PrepInfo,
    train_steps: usize,
    train_seconds: f64,
    eval_seconds: f64,
    #[serde(flatten)]
    report: EvalReport,
}

fn eval_library(
    library: &Path,
    json: bool,
    plot_dir: Option<&Path>,
    mut opts: EvalOptions,
    prep_tau: Option<f32>,
) -> Result<()> {
    // Bounded so a typo cannot keep the evaluation running for days.
    for (flag, value, max) in [
        ("--sequences", opts.sequences, 10_000),
        ("--sequence-len", opts.sequence_len, 1_000),
        ("--preemption-starts", opts.preemption_starts, 100),
    ] {
        limits::check_count(flag, value, 0, max).map_err(anyhow::Error::msg)?;
    }
    let lib = Library::load(library)?;
    let net = &lib.network;
    let mode = lib.manifest.mode;
    if let Some(t) = prep_tau {
        if !matches!(mode, Mode::Thalamocortical { .. }) {
            bail!("--prep-tau needs a thalamocortical library; this one is {mode:?}");
        }
        if !(t.is_finite() && (0.0..=MAX_PREP_TAU).contains(&t)) {
            bail!("--prep-tau must be between 0 and {MAX_PREP_TAU} τ, got {t}");
        }
        let steps = (t / net.alpha()).round() as usize;
        limits::check_prep("--prep-tau", steps, net.alpha()).map_err(anyhow::Error::msg)?;
        opts.chain_prep_steps = Some(steps);
    }
    let started = std::time::Instant::now();
    let report = eval::evaluate(net, mode, &lib.targets, &opts);
    let eval_seconds = started.elapsed().as_secs_f64();
    // Loading rules out every known cause; a NaN report must still never pass as a result.
    let finite = |v: Option<f32>| v.is_none_or(f32::is_finite);
    if !finite(Some(report.in_distribution_nmse)) || !finite(report.chaining_nmse) {
        bail!(
            "the evaluation is not finite (in-distribution NMSE {}, chaining {:?}): the network diverges",
            report.in_distribution_nmse,
            report.chaining_nmse
        );
    }
    if let Some(dir) = plot_dir {
        write_plots(&lib, dir, opts.seed)?;
    }
    if json {
        let out = EvalOutput {
            library: library.display().to_string(),
            network_variant: match lib.manifest.variant {
                Variant::Input => "input",
                Variant::Loop { .. } => "loop",
            },
            seed: lib.manifest.training.options.seed,
            n: lib.manifest.n,
            tau: lib.manifest.tau,
            dt: lib.manifest.dt,
            preparation: lib.manifest.preparation.clone(),
            train_steps: lib.manifest.training.options.steps,
            train_seconds: lib.manifest.training.seconds,
            eval_seconds,
            report,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "library {} ({:?}, N = {})",
        library.display(),
        mode,
        lib.manifest.n
    );
    println!("  in-distribution NMSE {:.3e}", report.in_distribution_nmse);
    match (
        report.chaining_nmse,
        report.chaining_ratio,
        &report.worst_pair,
    ) {
        (Some(c), Some(r), Some(w)) => {
            let prep = report
                .chain_prep_tau
                .map_or(String::new(), |t| format!(" after {t:.1} τ of preparation"));
            println!(
                "  chaining NMSE {c:.3e} over {} segments{prep}, ratio {r:.2}",
                report.chained_segments
            );
            println!("  worst pair {} -> {}: {:.3e}", w.from, w.to, w.nmse);
            if let Some(p) = &report.preemption {
                println!(
                    "  from mid-motif states ({:.0}–{:.0}% of the previous motif): NMSE {:.3e} over {} segments, ratio {:.2}",
                    100.0 * p.fractions.0,
                    100.0 * p.fractions.1,
                    p.nmse,
                    p.segments,
                    p.ratio
                );
            }
            if let Some(n) = report
                .preemption
                .as_ref()
                .and_then(|p| p.prep_needed.as_ref())
            {
                let tau = |t: Option<f32>| t.map_or("none tried".to_string(), |t| format!("{t} τ"));
                println!(
                    "  preparation for a ratio ≤ {RATIO_TARGET}: {} from motif ends, {} from mid-motif",
                    tau(n.from_ends_tau),
                    tau(n.from_mid_tau)
                );
            }
        }
        _ => println!(
            "  {}",
            report.note.as_deref().unwrap_or("no chaining figures")
        ),
    }
    println!(
        "  {:<16} {:>11} {:>11}  worst after",
        "motif", "in-dist", "chained"
    );
    for m in &report.per_motif {
        let chained = m
            .chaining_nmse
            .map_or("-".to_string(), |c| format!("{c:.3e}"));
        println!(
            "  {:<16} {:>11.3e} {:>11}  {}",
            m.name,
            m.in_distribution_nmse,
            chained,
            m.worst_after.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

fn plot_task_space(library: &Path, urdf: &Path, out: &Path, seed: u64) -> Result<()> {
    let lib = Library::load(library)?;
    let arm = ArmModel::from_urdf_file(urdf)?;
    arm.check_joint_names(&lib.manifest.outputs)
        .context("the library's outputs are not this URDF's joints")?;
    let kin = Kinematics::new(&arm)?;
    let net = &lib.network;
    let tip = |rows: &ndarray::Array2<f32>| -> Result<Vec<[f64; 3]>> {
        let mut q = vec![0.0f32; rows.ncols()];
        rows.rows()
            .into_iter()
            .map(|row| {
                q.iter_mut().zip(row).for_each(|(q, v)| *q = *v);
                lib.manifest.output_scaling.to_physical(&mut q);
                let q: Vec<f64> = q.iter().map(|v| f64::from(*v)).collect();
                Ok(kin.fk_position(&q)?)
            })
            .collect()
    };
    let mut paths = Vec::new();
    for (m, motif) in net.motifs.iter().enumerate() {
        let trace = eval::chained_trace(net, lib.manifest.mode, &lib.targets, &[m], seed);
        paths.push(plots::TipPath {
            label: String::new(),
            points: tip(&trace.target)?,
            style: plots::PathStyle::Reference(m),
        });
        paths.push(plots::TipPath {
            label: format!("{} (NMSE {:.1e})", motif.name, trace.nmse[0]),
            points: tip(&trace.produced)?,
            style: plots::PathStyle::Main(m),
        });
    }
    let title = format!(
        "{}: end-effector paths of {} motifs ({} tip)",
        library.display(),
        net.motifs.len(),
        arm.tip_link()
    );
    plots::tip_paths(
        out,
        &title,
        "thick: the network from an in-distribution start   thin: its demonstration   dot: start",
        &paths,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}

fn write_plots(lib: &Library, dir: &Path, seed: u64) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let net = &lib.network;
    let mode = lib.manifest.mode;
    let k = net.motifs.len();
    let names: Vec<String> = net.motifs.iter().map(|m| m.name.clone()).collect();
    // Reverse library order: a sequence never shown as such in training (which
    // sees no sequences at all), short enough to read.
    let sequence: Vec<usize> = (0..k).rev().take(6).collect();
    let mut trace = eval::chained_trace(net, mode, &lib.targets, &sequence, seed);
    for a in [&mut trace.produced, &mut trace.target] {
        for mut row in a.rows_mut() {
            lib.manifest
                .output_scaling
                .to_physical(row.as_slice_mut().expect("contiguous"));
        }
    }
    let mean = trace.nmse.iter().sum::<f32>() / trace.nmse.len() as f32;
    let what = match mode {
        Mode::Baseline { sigma0 } => format!("baseline σ0 = {sigma0}"),
        Mode::Thalamocortical { .. } => format!(
            "thalamocortical, {:?} preparation of {:.1} τ",
            lib.manifest.preparation.kind,
            net.prep.steps as f32 * net.alpha()
        ),
    };
    let title = format!(
        "Chained sequence, {what}, N = {}: mean segment NMSE {mean:.2e}",
        net.n()
    );
    let path = dir.join("chained.png");
    plots::chained_sequence(&path, &title, &trace, &names, &lib.manifest.outputs, net.dt)?;
    tracing::info!(path = %path.display(), "plot written");
    if matches!(mode, Mode::Thalamocortical { .. }) && k >= 2 {
        let tau_steps = 1.0 / net.alpha();
        // At least 12 τ so leak and optimised preparations can be compared on one axis.
        let steps = net.prep.steps.max((12.0 * tau_steps).round() as usize);
        let mut transients = eval::prep_transients(net, mode, 0, steps, seed);
        for t in &mut transients {
            for mut row in t.outputs.rows_mut() {
                lib.manifest
                    .output_scaling
                    .to_physical(row.as_slice_mut().expect("contiguous"));
            }
        }
        let title = format!(
            "Preparation toward {} ({:?} J_prep, N = {}; the library prepares for {:.1} τ)",
            names[0],
            lib.manifest.preparation.kind,
            net.n(),
            net.prep.steps as f32 / tau_steps
        );
        let path = dir.join("prep_transient.png");
        plots::prep_transient(
            &path,
            &title,
            &transients,
            &lib.manifest.outputs[0],
            tau_steps,
            net.prep.steps as f32 / tau_steps,
        )?;
        tracing::info!(path = %path.display(), "plot written");
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    motif::logging::init("info,k=warn");
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train {
            config,
            out,
            force,
            curve,
            curve_every,
        } => train(config, out, *force, curve.as_deref(), *curve_every),
        Command::Add {
            library,
            demo,
            from_config,
            bag,
            name,
            steps,
            lr,
        } => {
            let source = match (demo, from_config) {
                (Some(csv), _) => DemoSource::Csv(csv),
                (None, Some(cfg)) => DemoSource::Config(cfg),
                (None, None) => DemoSource::Bag(bag),
            };
            add(library, source, name, *steps, *lr)
        }
        .with_context(|| format!("adding '{name}' to {}", library.display())),
        Command::Inspect { library, json } => inspect(library, *json),
        Command::Import { bag, urdf, out } => (|| -> Result<()> {
            let arm = ArmModel::from_urdf_file(urdf)?;
            let demo = import_bag(bag, arm.joint_names())?;
            demo.save(out)?;
            println!(
                "wrote {}: {} rows at {} s, joints {}",
                out.display(),
                demo.data.nrows(),
                demo.dt,
                demo.names.join(", ")
            );
            Ok(())
        })()
        .context("importing the bag"),
        Command::Plot {
            library,
            urdf,
            out,
            seed,
        } => plot_task_space(library, urdf, out, *seed)
            .with_context(|| format!("plotting {}", library.display())),
        Command::Eval {
            library,
            json,
            plots,
            sequences,
            sequence_len,
            seed,
            prep_tau,
            preemption_starts,
        } => {
            let opts = EvalOptions {
                sequences: *sequences,
                sequence_len: *sequence_len,
                seed: *seed,
                preemption_starts: *preemption_starts,
                ..EvalOptions::default()
            };
            eval_library(library, *json, plots.as_deref(), opts, *prep_tau)
                .with_context(|| format!("evaluating {}", library.display()))
        }
        Command::Report {
            runs,
            json,
            sweep_plot,
            size_plot,
            published,
        } => report::report(
            runs,
            json,
            report::ReportPlots {
                sweep: sweep_plot.as_deref(),
                size: size_plot.as_deref(),
            },
            published.as_deref(),
        )
        .map(|tables| print!("{tables}"))
        .map_err(anyhow::Error::from),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, like `{:#}`, but skipping a cause
/// whose text its parent's message already includes (our typed errors print
/// their I/O cause themselves).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if !out.contains(&cause) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&cause);
        }
    }
    out
}
