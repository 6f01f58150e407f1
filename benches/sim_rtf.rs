//! Real-time factor of the simulated arm: simulated time / wall time with
//! 1 kHz physics, unthrottled, while tracking a moving command (a resting arm
//! would flatter the solver).
//!
//! ```sh
//! cargo bench --bench sim_rtf                 # 10 simulated seconds
//! SIM_RTF_SECONDS=30 cargo bench --bench sim_rtf
//! ```

use std::time::{Duration, Instant};

use motif::robot::{SimArm, PANDA_READY};

fn main() -> anyhow::Result<()> {
    let seconds: f64 = match std::env::var("SIM_RTF_SECONDS") {
        Ok(s) => s.parse()?,
        Err(_) => 10.0,
    };
    anyhow::ensure!(seconds > 0.0, "SIM_RTF_SECONDS must be positive");
    let urdf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/arm.urdf");

    let t_build = Instant::now();
    let mut sim = SimArm::from_urdf(&urdf)?;
    let build = t_build.elapsed();

    let steps = (seconds / sim.dt()).round() as usize;
    let mut cmd = PANDA_READY.to_vec();
    let mut step_times = Vec::with_capacity(steps);
    let t0 = Instant::now();
    for k in 0..steps {
        let t = k as f64 * sim.dt();
        // 0.3 rad, 0.5 Hz on every joint: the whole chain moves all the time.
        for (c, q0) in cmd.iter_mut().zip(PANDA_READY) {
            *c = q0 + 0.3 * (std::f64::consts::TAU * 0.5 * t).sin();
        }
        let s = Instant::now();
        sim.set_command(&cmd)?;
        sim.step();
        step_times.push(s.elapsed());
    }
    let wall = t0.elapsed();
    let simulated = steps as f64 * sim.dt();
    step_times.sort_unstable();
    let pct = |p: f64| step_times[((steps - 1) as f64 * p) as usize];
    let err = sim
        .joint_positions()
        .iter()
        .zip(&cmd)
        .map(|(q, c)| (q - c).abs())
        .fold(0.0, f64::max);

    println!(
        "sim_rtf: {} joints, dt {} s, {steps} steps",
        sim.dof(),
        sim.dt()
    );
    println!("  build (URDF -> multibody): {:?}", build);
    println!(
        "  simulated {simulated:.1} s in {:.3} s wall: real-time factor {:.1}x",
        wall.as_secs_f64(),
        simulated / wall.as_secs_f64()
    );
    println!(
        "  per step (set_command + step): p50 {:?}  p99 {:?}  max {:?}",
        pct(0.5),
        pct(0.99),
        step_times.last().copied().unwrap_or(Duration::ZERO)
    );
    println!("  final tracking error {err:.4} rad");
    Ok(())
}
