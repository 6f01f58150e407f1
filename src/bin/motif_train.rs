//! `motif_train`: demonstrations in, a motif library out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use motif::library::Library;
use motif::train::config::TrainConfig;
use motif::train::demo::Demo;
use motif::train::fit;

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
        /// Replace an existing library at --out.
        #[arg(long)]
        force: bool,
    },
    /// Add a motif to a library, training only its own parameters.
    Add {
        #[arg(long)]
        library: PathBuf,
        #[arg(long)]
        demo: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Show a library's motifs, durations, sizes and errors.
    Inspect {
        library: PathBuf,
        #[arg(long)]
        json: bool,
    },
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

fn train(config: &Path, out: &Path, force: bool) -> Result<()> {
    if out.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it",
            out.display()
        );
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
    let lib = fit::train_library(&cfg, config, &mut |step, loss| {
        pb.set_position(step as u64 + 1);
        pb.set_prefix(format!("{loss:.2e}"));
    })?;
    pb.finish();
    lib.save(out)?;
    for m in &lib.manifest.motifs {
        tracing::info!(motif = %m.name, nmse = m.provenance.nmse, loss = m.provenance.final_loss, "trained");
    }
    tracing::info!(out = %out.display(), seconds = lib.manifest.training.seconds, "library written");
    Ok(())
}

fn add(library: &Path, demo_path: &Path, name: &str) -> Result<()> {
    let mut lib = Library::load(library)?;
    let demo = Demo::load(demo_path)?;
    let pb = progress_bar(lib.manifest.training.options.steps, name);
    fit::add_motif(
        &mut lib,
        name,
        &demo,
        &demo_path.display().to_string(),
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

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,k=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train { config, out, force } => train(config, out, *force),
        Command::Add {
            library,
            demo,
            name,
        } => add(library, demo, name)
            .with_context(|| format!("adding '{name}' to {}", library.display())),
        Command::Inspect { library, json } => inspect(library, *json),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
