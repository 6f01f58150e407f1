//! The running loop thread allocates nothing once started: the counting
//! allocator counts only allocations made on the `control-loop` thread while
//! it runs at 1 kHz, takes commands (a preemption, speed, stop, hold) and
//! sends samples and status snapshots.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    path::Path,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

use crossbeam_channel::bounded;
use motif::node::Params;
use motif::{
    control::{spawn_loop, Command, Controller, LoopChannels, LoopConfig, LoopInput, MotifQueue},
    library::Library,
    robot::ArmModel,
};

static ARMED: AtomicBool = AtomicBool::new(false);
static LOOP_ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if !ARMED.load(Ordering::Relaxed) {
        return;
    }
    // Guard against re-entry in case looking up the thread allocates.
    let _ = INSIDE.try_with(|inside| {
        if inside.replace(true) {
            return;
        }
        if std::thread::current().name() == Some("control-loop") {
            LOOP_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        inside.set(false);
    });
}

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn running_loop_does_not_allocate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).expect("models/default");
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    let ctl = Controller::new(
        &lib,
        &arm,
        &Params::default()
            .without_robot()
            .controller_config()
            .unwrap(),
    )
    .unwrap();
    let q = |names: &[&str]| {
        let idx: Vec<u16> = names
            .iter()
            .map(|n| lib.network.motif_index(n).unwrap() as u16)
            .collect();
        MotifQueue::from_slice(&idx).unwrap()
    };
    let script = [
        Command::Run(q(&["circle", "wave"])),
        Command::Run(q(&["reach_left"])),
        Command::Speed(1.5),
        Command::VelocityScale(0.6),
        Command::Append(q(&["lift"])),
        Command::Stop,
        Command::Run(q(&["square"])),
        Command::Hold,
    ];
    let (cmd_tx, cmd_rx) = bounded::<LoopInput>(8);
    let (s_tx, s_rx) = bounded(64);
    let (st_tx, st_rx) = bounded(4);
    let (o_tx, o_rx) = bounded(4);
    let cfg = LoopConfig {
        period: Duration::from_millis(1),
        spin: Duration::from_micros(50),
        status_period: Duration::from_millis(20),
        watchdog: Duration::from_millis(5),
        // What the node asks for by default: locking memory and taking
        // FIFO must not make the running loop allocate either.
        realtime: Params::default().loop_config().realtime,
    };
    // The counter sees allocations on a thread of that name.
    ARMED.store(true, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("control-loop".into())
        .spawn(|| std::hint::black_box(vec![0u8; 32]).len())
        .unwrap()
        .join()
        .unwrap();
    ARMED.store(false, Ordering::SeqCst);
    assert!(
        LOOP_ALLOCS.swap(0, Ordering::SeqCst) >= 1,
        "counting allocator is not counting"
    );

    let handle = spawn_loop(
        ctl,
        cfg,
        LoopChannels {
            commands: cmd_rx,
            measured: crossbeam_channel::never(),
            samples: s_tx,
            status: st_tx,
            outcomes: o_tx,
        },
    )
    .unwrap();
    // Let the thread finish its start-up allocations first.
    std::thread::sleep(Duration::from_millis(100));
    ARMED.store(true, Ordering::SeqCst);
    let mut samples = 0usize;
    let mut outcomes = Vec::with_capacity(script.len());
    for (i, cmd) in script.iter().enumerate() {
        cmd_tx
            .try_send(LoopInput {
                id: i as u64,
                command: *cmd,
            })
            .unwrap();
        for _ in 0..30 {
            std::thread::sleep(Duration::from_millis(10));
            samples += s_rx.try_iter().count();
            // Status is drained only sometimes, so the loop also meets a full channel.
            if i % 2 == 0 {
                let _ = st_rx.try_iter().count();
            }
            outcomes.extend(o_rx.try_iter().map(|(id, _)| id));
        }
    }
    ARMED.store(false, Ordering::SeqCst);
    let report = handle.stop().unwrap();
    let allocs = LOOP_ALLOCS.load(Ordering::SeqCst);
    assert!(samples > 500, "loop produced only {samples} samples");
    // One outcome per command, in order, each with its command's id.
    assert_eq!(outcomes, (0..script.len() as u64).collect::<Vec<_>>());
    assert!(report.timing.ticks > 500);
    assert_eq!(
        allocs, 0,
        "the running control loop allocated {allocs} times"
    );
}
