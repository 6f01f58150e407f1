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
