//! What every answered request costs the metrics (`authd_http_requests_total`
//! and the duration histogram) on 1, 2, 4 and 8 threads at once, all
//! counting the same route and status as a guarded route under load does.
//! Each worker thread counts into series of its own, so the time per
//! request should stay flat up to the machine's core count (beyond it,
//! threads share cores).
//!
//!     cargo bench --bench request_metrics

use std::time::Duration;

use authd::common::telemetry;

#[divan::bench(threads = [1, 2, 4, 8])]
fn one_request(bencher: divan::Bencher) {
    telemetry::handle();
    bencher.bench(|| {
        telemetry::http_request(
            divan::black_box("GET"),
            divan::black_box("/api/secure"),
            200,
            Duration::from_micros(300),
        )
    });
}

fn main() {
    divan::main();
}
