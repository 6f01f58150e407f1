//! One log set-up for every binary: `tracing` to stderr (stdout stays for
//! results), filtered by `RUST_LOG` or else the binary's own default.

pub fn init(default_filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Whether to log the `count`-th occurrence (from 1) of a repeating event:
/// the first ten, then the 16th, 32nd, 64th… So a persistent fault stays
/// visible without flooding the log at the loop or message rate.
pub fn throttled(count: u64) -> bool {
    count <= 10 || count.is_power_of_two()
}

#[cfg(test)]
mod tests {
    #[test]
    fn throttled_logs_the_first_ten_then_powers_of_two() {
        let logged: Vec<u64> = (1..=100).filter(|&n| super::throttled(n)).collect();
        assert_eq!(logged, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32, 64]);
    }
}
