//! Control-loop figures for the README (not a pass/fail test).
//!
//! 1. Tick compute time at 1 kHz with the default library (synthetic clock,
//!    so only the computation is measured): p50/p99/max.
//! 2. The real loop on its thread for N seconds each with plain sleep and
//!    with sleep-then-spin: wake-up lateness p50/p99/max.
//!
//! ```sh
//! cargo bench --bench control_tick            # 5 s per wait mode
//! cargo bench --bench control_tick -- 20      # 20 s per wait mode
//! ```

use std::{
    path::Path,
    time::{Duration, Instant},
};

use crossbeam_channel::bounded;
use motif::{
    control::{
        spawn_loop, Command, Controller, Histogram, LoopConfig, LoopInput, MotifQueue, Params,
    },
    library::Library,
    robot::ArmModel,
};

fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5.0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).expect("models/default");
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).expect("urdf");
    let params = Params::default();
    let all: Vec<u16> = (0..lib.network.motifs.len() as u16).collect();
    let queue = MotifQueue::from_slice(&all).unwrap();

    // 1. Compute time per tick.
    let mut ctl = Controller::new(&lib, &arm, &params).unwrap();
    ctl.command(0, Command::Run(queue)).unwrap();
    let (mut all_ticks, mut net_ticks, mut plain_ticks) =
        (Histogram::new(), Histogram::new(), Histogram::new());
    let ticks = 30_000u64;
    let dt_net = f64::from(lib.network.dt);
    for k in 1..=ticks {
        let t = k as f64 * 1e-3;
        let steps_before = ctl.network_steps();
        let t0 = Instant::now();
        std::hint::black_box(ctl.tick(t));
        let d = t0.elapsed();
        all_ticks.record(d);
        if ctl.network_steps() > steps_before {
            net_ticks.record(d)
        } else {
            plain_ticks.record(d)
        }
    }
    let p = |h: &Histogram| {
        let s = h.summary();
        format!(
            "p50 {:6.2} µs  p99 {:6.2} µs  max {:7.2} µs  (n={})",
            s.p50_us,
            s.p99_us,
            s.max_us,
            h.count()
        )
    };
    println!(
        "library: N={} D={} dt={:.1} ms, {} motifs",
        lib.network.n(),
        lib.network.outputs(),
        dt_net * 1e3,
        lib.network.motifs.len()
    );
    println!("tick compute, all ticks       : {}", p(&all_ticks));
    println!("tick compute, network step    : {}", p(&net_ticks));
    println!("tick compute, interpolation   : {}", p(&plain_ticks));

    // 2. The real loop, per wait strategy.
    for (label, spin_us) in [
        ("plain sleep", 0u64),
        ("sleep + spin 50 µs", 50),
        ("sleep + spin 100 µs", 100),
        ("sleep + spin 200 µs", 200),
    ] {
        let mut ctl = Controller::new(&lib, &arm, &params).unwrap();
        ctl.command(0, Command::Run(queue)).unwrap();
        let (_cmd_tx, cmd_rx) = bounded::<LoopInput>(4);
        let (s_tx, s_rx) = bounded(4096);
        let (st_tx, st_rx) = bounded(64);
        let cfg = LoopConfig {
            period: Duration::from_millis(1),
            spin: Duration::from_micros(spin_us),
            status_period: Duration::from_millis(100),
            watchdog: Duration::from_millis(5),
        };
        let handle = spawn_loop(ctl, cfg, cmd_rx, s_tx, st_tx).unwrap();
        let end = Instant::now() + Duration::from_secs_f64(secs);
        // Drain like the node does, so the loop never sees a full channel.
        while Instant::now() < end {
            while s_rx.try_recv().is_ok() {}
            while st_rx.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(5));
        }
        let r = handle.stop().unwrap();
        let t = r.timing;
        println!(
            "real loop 1 kHz, {label:<20}: lateness p50 {:7.1} µs  p99 {:7.1} µs  max {:8.1} µs; compute p50 {:5.1} µs p99 {:5.1} µs; {} ticks, {} overruns",
            t.lateness.p50_us, t.lateness.p99_us, t.lateness.max_us, t.compute.p50_us, t.compute.p99_us, t.ticks, t.overruns
        );
    }
}
