//! `authd_http_requests_total` and `authd_http_request_duration_seconds`,
//! counted per thread: every request is counted by the thread that
//! answered it, into series only that thread writes, so no cache line is
//! written by every worker on a request's path (the `metrics` facade's
//! registry and its shared atomics were). A scrape sums the threads'
//! series. A thread takes the one lock here only the first time it counts
//! a (method, route, status); the label sets are bounded (route patterns,
//! not paths), so that happens a bounded number of times per thread.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub const REQUESTS: &str = "authd_http_requests_total";
pub const DURATION: &str = "authd_http_request_duration_seconds";

/// The histogram's upper bounds, in seconds (`+Inf` is the count).
const BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// One label set's counts on one thread. Only that thread writes them
/// (a load and a store, no locked read-modify-write); a scrape reads them.
#[derive(Default)]
struct Series {
    count: AtomicU64,
    sum_nanos: AtomicU64,
    /// `in_bucket[i]`: requests that took more than `BUCKETS[i - 1]` and at
    /// most `BUCKETS[i]` (not cumulative; the scrape adds them up).
    in_bucket: [AtomicU64; BUCKETS.len()],
}

fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

impl Series {
    fn record(&self, took: Duration) {
        add(&self.count, 1);
        add(
            &self.sum_nanos,
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
        );
        let seconds = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            add(&self.in_bucket[i], 1);
        }
    }
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Labels {
    method: &'static str,
    route: String,
    status: u16,
}

/// Every thread's series, for the scrape. Series stay after their thread
/// ends, so its counts do too.
static ALL: Mutex<Vec<(Labels, Arc<Series>)>> = Mutex::new(Vec::new());

/// One thread's series of a route, by method and status.
type RouteSeries = Vec<(&'static str, u16, Arc<Series>)>;

thread_local! {
    /// This thread's series, by route.
    static MINE: RefCell<HashMap<String, RouteSeries>> = RefCell::new(HashMap::new());
}

/// Counts one answered request on the calling thread.
pub fn record(method: &'static str, route: &str, status: u16, took: Duration) {
    MINE.with(|mine| {
        let mut mine = mine.borrow_mut();
        let by_route = match mine.get_mut(route) {
            Some(by_route) => by_route,
            None => mine.entry(route.to_string()).or_default(),
        };
        if let Some((_, _, series)) = by_route
            .iter()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            series.record(took);
            return;
        }
        let series = Arc::new(Series::default());
        series.record(took);
        by_route.push((method, status, Arc::clone(&series)));
        let labels = Labels {
            method,
            route: route.to_string(),
            status,
        };
        ALL.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((labels, series));
    });
}

/// Both metrics in the Prometheus text format, every thread's counts
/// summed per label set.
pub fn render(out: &mut String) {
    let mut requests: BTreeMap<Labels, u64> = BTreeMap::new();
    let mut durations: BTreeMap<(String, &'static str), (u64, u64, [u64; BUCKETS.len()])> =
        BTreeMap::new();
    for (labels, series) in ALL.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        let count = series.count.load(Relaxed);
        *requests.entry(labels.clone()).or_default() += count;
        let (total, nanos, buckets) = durations
            .entry((labels.route.clone(), labels.method))
            .or_default();
        *total += count;
        *nanos = nanos.wrapping_add(series.sum_nanos.load(Relaxed));
        for (sum, bucket) in buckets.iter_mut().zip(&series.in_bucket) {
            *sum += bucket.load(Relaxed);
        }
    }
    let _ = writeln!(
        out,
        "# HELP {REQUESTS} HTTP requests answered, by method, route pattern and status"
    );
    let _ = writeln!(out, "# TYPE {REQUESTS} counter");
    for (labels, count) in &requests {
        let _ = writeln!(
            out,
            "{REQUESTS}{{method=\"{}\",route=\"{}\",status=\"{}\"}} {count}",
            labels.method,
            escaped(&labels.route),
            labels.status
        );
    }
    let _ = writeln!(out, "# HELP {DURATION} Time to answer an HTTP request");
    let _ = writeln!(out, "# TYPE {DURATION} histogram");
    for ((route, method), (count, nanos, buckets)) in &durations {
        let labels = format!("method=\"{method}\",route=\"{}\"", escaped(route));
        let mut cumulative = 0;
        for (bound, in_bucket) in BUCKETS.iter().zip(buckets) {
            cumulative += in_bucket;
            let _ = writeln!(
                out,
                "{DURATION}_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "{DURATION}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{DURATION}_sum{{{labels}}} {}", *nanos as f64 / 1e9);
        let _ = writeln!(out, "{DURATION}_count{{{labels}}} {count}");
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
fn escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, line_start: &str) -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(line_start))
            .and_then(|rest| rest.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
    }

    #[test]
    fn every_threads_counts_are_summed_into_one_series() {
        let route = "/test/summed/{id}";
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    for ms in [1, 30, 30, 7000] {
                        record("GET", route, 200, Duration::from_millis(ms));
                    }
                    record("POST", route, 404, Duration::from_micros(100));
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let mut text = String::new();
        render(&mut text);
        let get = "method=\"GET\",route=\"/test/summed/{id}\"";
        assert_eq!(
            value(&text, &format!("{REQUESTS}{{{get},status=\"200\"}}")),
            16.0
        );
        assert_eq!(
            value(
                &text,
                &format!("{REQUESTS}{{method=\"POST\",route=\"{route}\",status=\"404\"}}")
            ),
            4.0
        );
        assert_eq!(
            value(&text, &format!("{DURATION}_bucket{{{get},le=\"0.001\"}}")),
            4.0
        );
        assert_eq!(
            value(&text, &format!("{DURATION}_bucket{{{get},le=\"0.025\"}}")),
            4.0
        );
        assert_eq!(
            value(&text, &format!("{DURATION}_bucket{{{get},le=\"0.05\"}}")),
            12.0
        );
        assert_eq!(
            value(&text, &format!("{DURATION}_bucket{{{get},le=\"5\"}}")),
            12.0
        );
        assert_eq!(
            value(&text, &format!("{DURATION}_bucket{{{get},le=\"+Inf\"}}")),
            16.0
        );
        assert_eq!(value(&text, &format!("{DURATION}_count{{{get}}}")), 16.0);
        let sum = value(&text, &format!("{DURATION}_sum{{{get}}}"));
        assert!((sum - 4.0 * 7.061).abs() < 1e-6, "{sum}");
    }

    #[test]
    fn label_values_cannot_end_their_quotes() {
        assert_eq!(escaped("/a\"b\\c\nd"), "/a\\\"b\\\\c\\nd");
    }
}
