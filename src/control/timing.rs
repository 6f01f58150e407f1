//! Tick timing statistics in fixed-size histograms: recording never allocates.
//!
//! Buckets: 100 ns wide up to 100 µs (tick compute lives here), 1 µs up to
//! 1 ms, 100 µs up to 100 ms, then one overflow bucket. Percentiles are
//! reported at the upper edge of their bucket; the maximum is exact.

use std::time::Duration;

use serde::Serialize;

use super::realtime::Scheduling;

const FINE: u64 = 1_000; // 100 ns buckets, 0..100 µs
const MID: u64 = 900; // 1 µs buckets, 100 µs..1 ms
const COARSE: u64 = 990; // 100 µs buckets, 1 ms..100 ms
const BUCKETS: usize = (FINE + MID + COARSE + 1) as usize;

#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max_ns: u64,
    sum_ns: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

fn bucket(ns: u64) -> usize {
    let i = if ns < 100_000 {
        ns / 100
    } else if ns < 1_000_000 {
        FINE + (ns - 100_000) / 1_000
    } else if ns < 100_000_000 {
        FINE + MID + (ns - 1_000_000) / 100_000
    } else {
        FINE + MID + COARSE
    };
    i as usize
}

/// Upper edge of bucket `i` in ns.
fn upper_edge(i: usize) -> u64 {
    let i = i as u64;
    if i < FINE {
        (i + 1) * 100
    } else if i < FINE + MID {
        100_000 + (i - FINE + 1) * 1_000
    } else if i < FINE + MID + COARSE {
        1_000_000 + (i - FINE - MID + 1) * 100_000
    } else {
        u64::MAX
    }
}

impl Histogram {
    /// Allocates its buckets once, here.
    pub fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            max_ns: 0,
            sum_ns: 0,
        }
    }

    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket(ns)] += 1;
        self.total += 1;
        self.max_ns = self.max_ns.max(ns);
        self.sum_ns += u128::from(ns);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_ns)
    }

    pub fn mean(&self) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos((self.sum_ns / u128::from(self.total)) as u64)
    }

    /// The `q`-quantile (0..=1), at bucket resolution, never above the max.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_nanos(upper_edge(i).min(self.max_ns));
            }
        }
        self.max()
    }

    pub fn summary(&self) -> Percentiles {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        Percentiles {
            p50_us: us(self.quantile(0.5)),
            p99_us: us(self.quantile(0.99)),
            p999_us: us(self.quantile(0.999)),
            max_us: us(self.max()),
        }
    }

    pub fn reset(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.total = 0;
        self.max_ns = 0;
        self.sum_ns = 0;
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

/// Everything the loop measures about itself.
#[derive(Debug, Clone, Default)]
pub struct TimingStats {
    /// Time from wake-up to the sample being handed off.
    pub compute: Histogram,
    /// Wake-up time minus the tick's deadline.
    pub lateness: Histogram,
    pub ticks: u64,
    /// Ticks that woke more than one period late (deadlines were skipped).
    pub overruns: u64,
    /// The deadlines those overruns skipped, each one sample the robot
    /// did not get.
    pub deadlines_skipped: u64,
    /// Ticks later than the watchdog limit.
    pub watchdog_trips: u64,
    /// Samples the transport side could not take (channel full).
    pub samples_dropped: u64,
    /// What the loop thread got from the OS.
    pub scheduling: Scheduling,
}

/// A `Copy` digest of [`TimingStats`] for status messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TimingSummary {
    pub ticks: u64,
    pub compute: Percentiles,
    pub lateness: Percentiles,
    pub overruns: u64,
    pub deadlines_skipped: u64,
    pub watchdog_trips: u64,
    pub samples_dropped: u64,
    pub scheduling: Scheduling,
}

impl TimingStats {
    pub fn summary(&self) -> TimingSummary {
        TimingSummary {
            ticks: self.ticks,
            compute: self.compute.summary(),
            lateness: self.lateness.summary(),
            overruns: self.overruns,
            deadlines_skipped: self.deadlines_skipped,
            watchdog_trips: self.watchdog_trips,
            samples_dropped: self.samples_dropped,
            scheduling: self.scheduling,
        }
    }
}

impl std::fmt::Display for TimingSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ticks; compute p50 {:.1} µs p99 {:.1} µs max {:.1} µs; \
             wake-up lateness p50 {:.1} µs p99 {:.1} µs max {:.1} µs; \
             {} overruns, {} watchdog trips, {} samples dropped; scheduling {}",
            self.ticks,
            self.compute.p50_us,
            self.compute.p99_us,
            self.compute.max_us,
            self.lateness.p50_us,
            self.lateness.p99_us,
            self.lateness.max_us,
            self.overruns,
            self.watchdog_trips,
            self.samples_dropped,
            self.scheduling
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        for ns in [
            0u64,
            99,
            100,
            99_999,
            100_000,
            999_999,
            1_000_000,
            99_999_999,
            100_000_000,
            u64::MAX,
        ] {
            let b = bucket(ns);
            assert!(b < BUCKETS);
            assert!(upper_edge(b) >= ns, "{ns}");
            if b > 0 {
                assert!(upper_edge(b - 1) <= ns, "{ns}");
            }
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::new();
        for us in 1..=100 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 100);
        let near = |d: Duration, us: i64| (d.as_nanos() as i64 - us * 1000).abs() <= 100;
        assert!(near(h.quantile(0.5), 50));
        assert!(near(h.quantile(0.99), 99));
        assert_eq!(h.max(), Duration::from_micros(100));
        h.record(Duration::from_secs(5));
        assert_eq!(h.quantile(1.0), Duration::from_secs(5));
    }
}
