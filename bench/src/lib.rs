//! The benchmark programs of the gateway (binaries `paths`, `send`, `scale`, `failover`; see
//! `BENCHMARKS.md`) and what they share: [`measure`], the same-run baselines of raw NATS and
//! Redis and the lease watching of failovers.

pub mod measure;
