//! Real-time scheduling for the loop thread: SCHED_FIFO, locked memory and
//! CPU pinning, what ros2_control's controller manager asks for by default
//! (FIFO priority 50, `lock_memory`), and what a refusal costs: on a loaded
//! 2-core machine the same binary had 365 overruns in 11 s under normal
//! scheduling and none under `chrt -f 80` (docs/benchmarks.md, section 2).
//!
//! Applied once, on the loop thread, before its first tick. When the OS
//! refuses, the loop runs on with what it got and says so: the refusal
//! becomes one warning naming the fix (docs/running.md, "Real-time
//! scheduling"), and [`Scheduling`] (in status and the shutdown timing
//! line) reports what the loop actually has.

use std::{ffi::CStr, fmt, io};

use serde::Serialize;

/// What the loop thread asks for; `Copy`, built once from the parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RealtimeConfig {
    /// SCHED_FIFO priority 1–99 for the loop thread only; 0 = normal scheduling.
    pub priority: u8,
    /// mlockall(current and future pages), then pre-fault the loop's stack.
    pub lock_memory: bool,
    /// Pin the loop thread to this CPU.
    pub cpu: Option<u16>,
}

/// The loop thread's scheduling class as the kernel reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum Policy {
    #[default]
    #[serde(rename = "SCHED_OTHER")]
    Other,
    #[serde(rename = "SCHED_FIFO")]
    Fifo,
    #[serde(rename = "SCHED_RR")]
    RoundRobin,
}

/// What the loop thread got, read back from the kernel after asking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Scheduling {
    pub policy: Policy,
    /// Real-time priority (0 under SCHED_OTHER).
    pub priority: u8,
    pub memory_locked: bool,
    /// The only CPU the thread may run on, if it is pinned to one.
    pub cpu: Option<u16>,
}

impl fmt::Display for Scheduling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.policy {
            Policy::Other => write!(f, "SCHED_OTHER (normal)")?,
            Policy::Fifo => write!(f, "SCHED_FIFO priority {}", self.priority)?,
            Policy::RoundRobin => write!(f, "SCHED_RR priority {}", self.priority)?,
        }
        write!(
            f,
            ", memory {}",
            if self.memory_locked {
                "locked"
            } else {
                "not locked"
            }
        )?;
        match self.cpu {
            Some(c) => write!(f, ", pinned to CPU {c}"),
            None => write!(f, ", any CPU"),
        }
    }
}

/// How much of the loop thread's stack to touch after locking memory, so
/// its first deep call does not page-fault inside a tick.
const STACK_PREFAULT_BYTES: usize = 256 * 1024;

/// The fix a user needs for each refusal, in the words of the files they edit.
const RTPRIO_FIX: &str = "add `@realtime - rtprio 99` to /etc/security/limits.conf, put your \
     user in group `realtime` and log in again (or `setcap cap_sys_nice+ep` the binary; in a \
     container `--cap-add=SYS_NICE --ulimit rtprio=99`; under systemd `LimitRTPRIO=99`)";
const MEMLOCK_FIX: &str = "add `@realtime - memlock unlimited` to /etc/security/limits.conf and \
     log in again (or `setcap cap_ipc_lock+ep` the binary; under systemd `LimitMEMLOCK=infinity`)";

/// Applies `cfg` to the calling thread (the loop thread). Returns what the
/// thread got and one warning per refusal. Allocates (the warnings), so it
/// runs before the loop's first tick.
pub fn apply(cfg: &RealtimeConfig) -> (Scheduling, Vec<String>) {
    let mut warnings = Vec::new();
    let mut memory_locked = false;
    if cfg.lock_memory {
        match lock_memory() {
            Ok(()) => {
                memory_locked = true;
                prefault_stack();
            }
            Err(e) => warnings.push(format!(
                "lock_memory: {e}; running with pageable memory (a page fault can stall a tick). Fix: \
                 {MEMLOCK_FIX}"
            )),
        }
    }
    if let Some(cpu) = cfg.cpu {
        if let Err(e) = pin_to(cpu) {
            warnings.push(format!(
                "cpu_affinity {cpu}: {e}; the loop thread may run on any CPU ({})",
                allowed_cpus()
            ));
        }
    }
    if cfg.priority > 0 {
        if let Err(e) = set_fifo(cfg.priority) {
            warnings.push(format!(
                "realtime_priority {}: SCHED_FIFO refused ({e}); the loop runs under normal \
                 scheduling and may miss deadlines when the CPUs are busy. Fix: {RTPRIO_FIX}",
                cfg.priority
            ));
        }
    }
    let (policy, priority) = current_policy();
    let got = Scheduling {
        policy,
        priority,
        memory_locked,
        cpu: pinned_cpu(),
    };
    (got, warnings)
}

fn errno_result(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The soft limit of `resource` (`RLIM_INFINITY` when unlimited).
fn soft_limit(resource: libc::__rlimit_resource_t) -> io::Result<libc::rlim_t> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    errno_result(unsafe { libc::getrlimit(resource, &mut lim) })?;
    Ok(lim.rlim_cur)
}

fn lock_memory() -> Result<(), String> {
    // With a finite RLIMIT_MEMLOCK and no CAP_IPC_LOCK, MCL_FUTURE would
    // make every later allocation past the limit fail (an abort in Rust),
    // so refuse up front instead of crashing minutes later.
    let limit =
        soft_limit(libc::RLIMIT_MEMLOCK).map_err(|e| format!("reading RLIMIT_MEMLOCK: {e}"))?;
    if limit != libc::RLIM_INFINITY && !has_capability(CAP_IPC_LOCK) {
        return Err(format!(
            "the locked-memory limit is {} kB and the process lacks CAP_IPC_LOCK, so locking \
             current and future pages would make later allocations fail",
            limit / 1024
        ));
    }
    // SAFETY: mlockall takes flags only.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    errno_result(rc).map_err(|e| format!("mlockall: {e}"))
}

/// Touches the stack the loop will use, so the pages exist (and, locked,
/// stay) before the first tick.
#[inline(never)]
fn prefault_stack() {
    let mut block = [0u8; STACK_PREFAULT_BYTES];
    for b in block.iter_mut().step_by(4096) {
        // SAFETY: a volatile write to a byte of a live local array.
        unsafe { std::ptr::write_volatile(b, 1) };
    }
    std::hint::black_box(&block);
}

const CAP_IPC_LOCK: u32 = 14;

/// Whether the effective capability set holds `cap` (from /proc/self/status).
fn has_capability(cap: u32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << cap) != 0)
}

fn set_fifo(priority: u8) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: libc::c_int::from(priority),
    };
    // SAFETY: sets the calling thread's policy from a valid sched_param;
    // pthread functions return the error number instead of setting errno.
    let rc = unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
    if rc == 0 {
        Ok(())
    } else {
        let e = io::Error::from_raw_os_error(rc);
        if rc == libc::EPERM {
            if let Ok(limit) = soft_limit(libc::RLIMIT_RTPRIO) {
                if limit != libc::RLIM_INFINITY && limit < libc::rlim_t::from(priority) {
                    return Err(io::Error::other(format!("{e}: RLIMIT_RTPRIO is {limit}")));
                }
            }
            return Err(io::Error::other(format!(
                "{e}: no privilege, or no real-time budget in this cgroup (cpu.rt_runtime_us)"
            )));
        }
        Err(e)
    }
}

fn current_policy() -> (Policy, u8) {
    let mut policy: libc::c_int = 0;
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: reads the calling thread's policy into valid locals.
    let rc = unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param) };
    if rc != 0 {
        return (Policy::Other, 0);
    }
    let p = match policy {
        libc::SCHED_FIFO => Policy::Fifo,
        libc::SCHED_RR => Policy::RoundRobin,
        _ => Policy::Other,
    };
    (p, u8::try_from(param.sched_priority).unwrap_or(0))
}

fn pin_to(cpu: u16) -> io::Result<()> {
    let cpu = usize::from(cpu);
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::other("beyond the CPU set size"));
    }
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET stays in bounds
    // (checked above); sched_setaffinity(0, …) applies to the calling thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    errno_result(rc)
}

fn affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: sched_getaffinity fills a zeroed set of the size we pass.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
            .then_some(set)
    }
}

fn cpus_in(set: &libc::cpu_set_t) -> impl Iterator<Item = usize> + '_ {
    // SAFETY: CPU_ISSET reads a bit of a valid set, index within its size.
    (0..libc::CPU_SETSIZE as usize).filter(move |&c| unsafe { libc::CPU_ISSET(c, set) })
}

/// The CPU the calling thread is confined to, if exactly one.
fn pinned_cpu() -> Option<u16> {
    let set = affinity()?;
    let mut cpus = cpus_in(&set);
    let first = cpus.next()?;
    if cpus.next().is_some() {
        return None;
    }
    u16::try_from(first).ok()
}

fn allowed_cpus() -> String {
    match affinity() {
        Some(set) => {
            let list: Vec<String> = cpus_in(&set).map(|c| c.to_string()).collect();
            format!("this process may use CPUs {}", list.join(","))
        }
        None => "its CPU set is unreadable".into(),
    }
}

/// The kernel's name for this machine's real-time preemption model, for the
/// docs' checklist (`PREEMPT_RT` on a real-time kernel).
pub fn kernel_preemption() -> String {
    // SAFETY: uname fills a zeroed utsname; `version` is NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "unknown".into();
        }
        let v = CStr::from_ptr(u.version.as_ptr()).to_string_lossy();
        if v.contains("PREEMPT_RT") {
            "PREEMPT_RT".into()
        } else if v.contains("PREEMPT_DYNAMIC") {
            "PREEMPT_DYNAMIC".into()
        } else if v.contains("PREEMPT") {
            "PREEMPT".into()
        } else {
            "none (server)".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each request is applied on a fresh thread and read back from the
    /// kernel; where this machine refuses (no privilege), the refusal is a
    /// warning with the fix and the report says normal scheduling.
    #[test]
    fn what_the_thread_gets_is_what_the_kernel_reports() {
        let (got, warnings) = std::thread::spawn(|| {
            apply(&RealtimeConfig {
                priority: 10,
                lock_memory: false,
                cpu: Some(0),
            })
        })
        .join()
        .unwrap();
        assert_eq!(
            got.cpu.is_some(),
            !warnings.iter().any(|w| w.contains("cpu_affinity"))
        );
        match got.policy {
            Policy::Fifo => {
                assert_eq!(got.priority, 10);
                assert!(warnings.iter().all(|w| !w.contains("realtime_priority")));
            }
            _ => {
                let w = warnings
                    .iter()
                    .find(|w| w.contains("realtime_priority 10"))
                    .expect("a refusal must warn");
                assert!(w.contains("limits.conf"), "{w}");
            }
        }
        assert!(!got.memory_locked);

        let (plain, warnings) = std::thread::spawn(|| apply(&RealtimeConfig::default()))
            .join()
            .unwrap();
        assert_eq!(plain.policy, Policy::Other);
        assert!(warnings.is_empty());
        assert_eq!(
            plain.to_string().split(',').next(),
            Some("SCHED_OTHER (normal)")
        );
    }

    #[test]
    fn a_cpu_that_does_not_exist_is_a_warning() {
        let (got, warnings) = std::thread::spawn(|| {
            apply(&RealtimeConfig {
                cpu: Some(1000),
                ..RealtimeConfig::default()
            })
        })
        .join()
        .unwrap();
        assert_ne!(got.cpu, Some(1000));
        assert!(
            warnings[0].contains("cpu_affinity 1000") && warnings[0].contains("may use CPUs"),
            "{warnings:?}"
        );
    }
}
