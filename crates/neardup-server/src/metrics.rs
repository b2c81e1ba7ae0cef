//! Prometheus metrics, as text on `GET /metrics`: requests by route and
//! status, request latency by route, records answered by route and status,
//! records added. Routes are the service's own paths (any other path is
//! `other`), so label sets stay few whatever clients send.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::backend::{Outcome, Status};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RecordLabels {
    route: &'static str,
    status: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The service's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    records: Family<RecordLabels, Counter>,
    added: Counter,
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 3.3 s, doubling.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("neardup");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, by route",
            latency.clone(),
        );
        let records = Family::<RecordLabels, Counter>::default();
        registry.register(
            "records",
            "Records answered by check and add, by route and status (new or duplicate)",
            records.clone(),
        );
        let added = Counter::default();
        registry.register("records_added", "Records added to the index", added.clone());
        Metrics { registry, requests, latency, records, added }
    }

    /// Counts one request.
    pub(crate) fn request(&self, route: &'static str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { route, status }).inc();
        self.latency.get_or_create(&RouteLabels { route }).observe(seconds);
    }

    /// Counts a request's answers.
    pub(crate) fn outcomes(&self, route: &'static str, outcomes: &[Outcome]) {
        let new = outcomes.iter().filter(|o| o.status == Status::New).count() as u64;
        let added = outcomes.iter().filter(|o| o.added).count() as u64;
        let dup = outcomes.len() as u64 - new;
        self.records.get_or_create(&RecordLabels { route, status: "new" }).inc_by(new);
        self.records.get_or_create(&RecordLabels { route, status: "duplicate" }).inc_by(dup);
        self.added.inc_by(added);
    }

    /// The metrics in Prometheus' text format.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
