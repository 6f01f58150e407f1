//! The loop thread's stream is the controller's stream on the deadline
//! clock: replaying the same ticks offline at the stamped times gives the
//! same samples bit for bit, however late the thread woke. Busy neighbours
//! make it wake late; a sample computed for its wake-up instead of its
//! deadline (what the loop once did) would differ.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use crossbeam_channel::bounded;
use motif::node::Params;
use motif::{
    control::{
        spawn_loop, Command, Controller, LoopChannels, LoopConfig, MotifQueue, Phase,
        RealtimeConfig,
    },
    library::Library,
    robot::ArmModel,
};

#[test]
fn loop_samples_are_the_controller_on_the_deadline_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).expect("models/default");
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    let config = Params::default()
        .without_robot()
        .controller_config()
        .unwrap();
    let circle = lib.network.motif_index("circle").unwrap() as u16;
    let play = Command::Run(MotifQueue::from_slice(&[circle]).unwrap());
    let new_controller = || {
        let mut c = Controller::new(&lib, &arm, &config).unwrap();
        c.command(play).unwrap();
        c
    };

    let busy = Arc::new(AtomicBool::new(true));
    let neighbours: Vec<_> = (0..2)
        .map(|_| {
            let busy = Arc::clone(&busy);
            std::thread::spawn(move || {
                while busy.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let (_cmd_tx, cmd_rx) = bounded(1);
    let (s_tx, s_rx) = bounded(8192);
    let (st_tx, _st_rx) = bounded(1);
    let handle = spawn_loop(
        new_controller(),
        LoopConfig {
            period: Duration::from_millis(1),
            spin: Duration::ZERO,
            status_period: Duration::from_millis(100),
            watchdog: Duration::from_secs(1),
            // Normal scheduling, so the neighbours really make it wake late.
            realtime: RealtimeConfig::default(),
        },
        LoopChannels {
            commands: cmd_rx,
            measured: crossbeam_channel::never(),
            samples: s_tx,
            status: st_tx,
            outcomes: crossbeam_channel::bounded(1).0,
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let report = handle.stop().unwrap();
    busy.store(false, Ordering::Relaxed);
    for n in neighbours {
        n.join().unwrap();
    }
    assert_eq!(report.timing.samples_dropped, 0);
    assert!(
        report.timing.lateness.max_us > 0.0,
        "the loop never woke late: the test proves nothing"
    );

    let mut replay = new_controller();
    let mut compared = 0;
    for s in s_rx.try_iter().take_while(|s| s.phase != Phase::Holding) {
        let r = replay.tick(s.t);
        assert_eq!(
            (r.position, r.velocity, r.phase),
            (s.position, s.velocity, s.phase),
            "sample {} at t = {} s differs from the controller's own",
            s.seq,
            s.t
        );
        compared += 1;
    }
    assert!(compared > 1000, "only {compared} samples before the stop");
}
