//! Metric handles resolved once per label set and kept: recording on the request path then
//! allocates no label strings and builds no metrics key, it is a read lock, a map lookup and
//! the atomic update. A label set is registered (its strings allocated) the first time it is
//! seen; every label is bounded (route templates, standard methods, statuses, fixed words).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};

use metrics::{Counter, Histogram};

/// A counter and a latency histogram of one label set.
#[derive(Debug, Clone)]
pub(super) struct Timed {
    pub count: Counter,
    pub seconds: Histogram,
}

impl Timed {
    fn record(&self, seconds: f64) {
        self.count.increment(1);
        self.seconds.record(seconds);
    }
}

/// Series keyed by a small `Copy` key of `&'static str`s and enums.
#[derive(Debug)]
pub(super) struct Table<K>(RwLock<HashMap<K, Timed>>);

impl<K> Default for Table<K> {
    fn default() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
}

impl<K: Copy + Eq + Hash> Table<K> {
    /// Records one `seconds` observation under `key`, registering its series on first sight.
    pub fn record(&self, key: K, seconds: f64, register: impl FnOnce() -> Timed) {
        let known = self.0.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(series) = known.get(&key) {
            return series.record(seconds);
        }
        drop(known);
        let mut known = self.0.write().unwrap_or_else(PoisonError::into_inner);
        known.entry(key).or_insert_with(register).record(seconds);
    }
}

/// The HTTP series: per route template, those of each method and status seen on it (a
/// handful), so the borrowed route of a request finds its series without an owned key.
#[derive(Debug, Default)]
pub(super) struct RouteTable(RwLock<HashMap<Box<str>, Vec<RouteSeries>>>);

/// The series of one method and status on a route.
type RouteSeries = (&'static str, u16, Timed);

impl RouteTable {
    /// Records one request, registering its series on first sight.
    pub fn record(
        &self,
        (method, route, status): (&'static str, &str, u16),
        seconds: f64,
        register: impl FnOnce() -> Timed,
    ) {
        let matches = |(m, s, _): &&RouteSeries| *m == method && *s == status;
        let known = self.0.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((.., series)) = known.get(route).and_then(|row| row.iter().find(matches)) {
            return series.record(seconds);
        }
        drop(known);
        let mut known = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let row = known.entry(Box::from(route)).or_default();
        if let Some((.., series)) = row.iter().find(matches) {
            return series.record(seconds);
        }
        let series = register();
        series.record(seconds);
        row.push((method, status, series));
    }
}
