//! CPU time per process, read from Linux's `/proc/<pid>/task/*/schedstat` (nanoseconds each
//! thread spent on a CPU), so a run can say how many CPU-µs each process spent per request:
//! on a machine where every process shares two cores, that is what bounds throughput.

use std::collections::BTreeMap;

/// The processes watched, by role (`edge`, `worker`, `redis`, `nats`, `load generator`).
#[derive(Debug, Clone, Default)]
pub struct Watched(pub Vec<(&'static str, u32)>);

/// CPU nanoseconds per role at one moment.
#[derive(Debug, Clone, Default)]
pub struct Sample(BTreeMap<&'static str, u64>);

impl Watched {
    pub fn sample(&self) -> Sample {
        Sample(
            (self.0.iter())
                .map(|(role, pid)| (*role, process_cpu_ns(*pid)))
                .collect(),
        )
    }
}

impl Sample {
    /// CPU-µs per request of each role between `self` (earlier) and `later`.
    pub fn per_request_us(&self, later: &Sample, requests: usize) -> Vec<(&'static str, f64)> {
        let requests = requests.max(1) as f64;
        (later.0.iter())
            .map(|(role, after)| {
                let before = self.0.get(role).copied().unwrap_or(0);
                (
                    *role,
                    after.saturating_sub(before) as f64 / 1000.0 / requests,
                )
            })
            .collect()
    }
}

/// The CPU time of every live thread of `pid`, in ns (0 when it cannot be read).
fn process_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
