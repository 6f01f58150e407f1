//! The control tick allocates nothing: a counting global allocator watches
//! 2000+ ticks through waiting for the robot, preparation from the measured
//! posture, execution, a preemption, speed changes, stop and hold, with a
//! measurement every tick (the supervision path).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    path::Path,
};

use motif::node::Params;
use motif::{
    control::{Command, Controller, MotifQueue},
    library::Library,
    robot::ArmModel,
};

struct Counting;

thread_local! {
    // Per thread, so the test harness's own threads do not count.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
            }
        });
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
            }
        });
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counted<T>(f: impl FnOnce() -> T) -> (T, u64) {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCS.with(|a| a.get()))
}

#[test]
fn tick_and_command_never_allocate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default"))
        .expect("models/default (the shipped library) must exist");
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    let mut ctl =
        Controller::new(&lib, &arm, &Params::default().controller_config().unwrap()).unwrap();
    let idx = |n: &str| lib.network.motif_index(n).unwrap() as u16;
    let q = |names: &[&str]| {
        MotifQueue::from_slice(&names.iter().map(|n| idx(n)).collect::<Vec<_>>()).unwrap()
    };
    // Commands are Copy values built by the parser outside the loop.
    let script = [
        (10, Command::Run(q(&["circle", "wave"]))),
        (700, Command::Run(q(&["reach_left"]))), // preemption mid-preparation or motif
        (900, Command::Speed(1.7)),
        (1000, Command::VelocityScale(0.6)), // live limits: caps re-derived in place
        (1200, Command::Append(q(&["lift", "square"]))),
        (1500, Command::Run(q(&["square"]))),
        (1800, Command::Stop),
        (2100, Command::Run(q(&["figure_eight"]))),
        (2400, Command::Hold),
    ];
    // The counter itself works: a Vec inside the window is seen.
    let (_, n) = counted(|| std::hint::black_box(vec![1u8; 64]));
    assert!(n >= 1, "counting allocator is not counting");
    let mut total_allocs = 0;
    let mut phases = std::collections::HashSet::new();
    let mut script_i = 0;
    for k in 0..2600u64 {
        let t = k as f64 * 1e-3;
        // Uneven ticks (a late one every 97) exercise the catch-up path.
        let t = if k.is_multiple_of(97) { t + 0.0007 } else { t };
        let (sample, n) = counted(|| {
            if script_i < script.len() && script[script_i].0 == k {
                let _ = ctl.command(script[script_i].1);
                script_i += 1;
            }
            // The robot follows exactly; none before tick 5 (waiting).
            if k >= 5 {
                let mut q = ctl.posture();
                if k == 5 {
                    q[..7].copy_from_slice(&motif::robot::PANDA_READY);
                }
                ctl.measure(&q);
            }
            let s = ctl.tick(t);
            let _ = ctl.snapshot();
            s
        });
        total_allocs += n;
        phases.insert(format!("{:?}", sample.phase));
    }
    assert_eq!(total_allocs, 0, "the control tick allocated");
    for p in [
        "Waiting",
        "Idle",
        "Preparing",
        "Executing",
        "Stopping",
        "Holding",
    ] {
        assert!(phases.contains(p), "phase {p} never reached: {phases:?}");
    }
}
