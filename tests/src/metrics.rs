//! Reading `/metrics`: a parser of the Prometheus text format (0.0.4: `# TYPE` lines, samples
//! with escaped label values, `+Inf`/`NaN` values, optional timestamps), and scraping the
//! edge and each worker of a [`TestApp`] (a worker's address comes from its member info).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use wagw_common::GatewayId;

use crate::TestApp;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One scrape, parsed.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    /// `# TYPE` of each metric family.
    pub types: HashMap<String, String>,
}

impl Scrape {
    /// Parses a Prometheus text exposition.
    ///
    /// # Errors
    /// A line that is neither a comment nor a well-formed sample, naming its number.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut scrape = Self::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(comment) = line.strip_prefix('#') {
                let mut words = comment.split_whitespace();
                if let (Some("TYPE"), Some(name), Some(kind)) =
                    (words.next(), words.next(), words.next())
                {
                    scrape.types.insert(name.to_owned(), kind.to_owned());
                }
            } else if !line.is_empty() {
                let sample =
                    parse_sample(line).with_context(|| format!("line {}: {line:?}", number + 1))?;
                scrape.samples.push(sample);
            }
        }
        Ok(scrape)
    }

    /// The samples of `name` whose labels include every one of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |sample| {
            sample.name == name
                && (labels.iter()).all(|(k, v)| sample.labels.get(*k).is_some_and(|x| x == v))
        })
    }

    /// The sum of the samples of `name` with `labels` (0 when there is none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|sample| sample.value).sum()
    }

    /// The value of the one sample of `name` with `labels`; `None` when there is none.
    ///
    /// # Panics
    /// When several samples match: the caller's labels do not pick one series.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self.matching(name, labels).collect();
        assert!(
            found.len() <= 1,
            "{labels:?} picks {} series: {found:?}",
            found.len()
        );
        found.first().map(|sample| sample.value)
    }
}

fn parse_sample(line: &str) -> anyhow::Result<Sample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .context("no value")?;
    let name = &line[..name_end];
    let valid_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    if name.is_empty() || !name.chars().all(valid_name) {
        bail!("bad metric name {name:?}");
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = parse_labels(inner, &mut labels)?;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().context("no value")?;
    let value: f64 = value
        .parse()
        .with_context(|| format!("bad value {value:?}"))?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .with_context(|| format!("bad timestamp {timestamp:?}"))?;
    }
    if fields.next().is_some() {
        bail!("trailing text");
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Reads `name="value",…}` into `labels`; returns what follows the `}`.
fn parse_labels<'a>(
    mut text: &'a str,
    labels: &mut BTreeMap<String, String>,
) -> anyhow::Result<&'a str> {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix('}') {
            return Ok(rest);
        }
        let (name, rest) = text.split_once('=').context("a label without '='")?;
        let rest = rest.strip_prefix('"').context("an unquoted label value")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().context("an unterminated label value")? {
                (at, '"') => break at,
                (_, '\\') => match chars.next().context("a dangling escape")?.1 {
                    'n' => value.push('\n'),
                    other @ ('\\' | '"') => value.push(other),
                    other => bail!("unknown escape \\{other}"),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.trim().to_owned(), value);
        text = &rest[end + 1..];
        text = text.trim_start();
        text = text.strip_prefix(',').unwrap_or(text);
    }
}

/// `GET <url>`, which must answer `200` in the Prometheus text format, parsed.
///
/// # Panics
/// When it does not.
pub async fn scrape(http: &reqwest::Client, url: &str) -> Scrape {
    let response = http.get(url).send().await;
    let response = response.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    assert_eq!(response.status(), 200, "GET {url}");
    let content_type = response.headers().get("content-type").cloned();
    let content_type = content_type.and_then(|value| value.to_str().ok().map(str::to_owned));
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8"),
        "GET {url}"
    );
    let text = response.text().await.expect("a body");
    Scrape::parse(&text).unwrap_or_else(|error| panic!("GET {url}: {error:#}\n{text}"))
}

impl TestApp {
    /// The edge's `/metrics`.
    pub async fn edge_metrics(&self) -> Scrape {
        scrape(&self.http, &self.url("/metrics")).await
    }

    /// Worker `worker`'s `/metrics`, on the address its member info gives.
    ///
    /// # Panics
    /// When no such worker runs or it publishes no metrics address within 10 s.
    pub async fn worker_metrics(&self, worker: &str) -> Scrape {
        let addr = self.worker_metrics_addr(worker).await;
        scrape(&self.http, &format!("http://{addr}/metrics")).await
    }

    /// `metricsAddr` of worker `worker`'s member info, once it has one.
    pub async fn worker_metrics_addr(&self, worker: &str) -> String {
        let gateway = (self.workers.iter().find(|w| w.id == worker))
            .map(|w| w.gateway.clone())
            .unwrap_or_else(|| panic!("no running worker {worker}"));
        let gateway = GatewayId::parse(&gateway).expect("a valid gateway id");
        let key = self.keys.member_info(&gateway, worker);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info: Option<String> = redis::AsyncCommands::get(&mut self.redis.clone(), &key)
                .await
                .expect("redis get");
            let info: Option<serde_json::Value> = info.and_then(|s| serde_json::from_str(&s).ok());
            if let Some(addr) = info.as_ref().and_then(|i| i["metricsAddr"].as_str()) {
                return addr.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "worker {worker} published no metricsAddr: {info:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_types_escapes_and_special_values_parse() {
        let text = "# HELP a_total Requests.\n# TYPE a_total counter\n\
            a_total{route=\"/x/{id}\",note=\"say \\\"hi\\\"\\\\\\n\"} 3\n\
            b_seconds_bucket{le=\"+Inf\",} 2 1700000000000\n\
            c NaN\n\n";
        let scrape = Scrape::parse(text).expect("parses");
        assert_eq!(scrape.types["a_total"], "counter");
        let a = &scrape.samples[0];
        assert_eq!(a.labels["route"], "/x/{id}");
        assert_eq!(a.labels["note"], "say \"hi\"\\\n");
        assert_eq!(scrape.value("a_total", &[("route", "/x/{id}")]), Some(3.0));
        assert_eq!(
            scrape.value("b_seconds_bucket", &[("le", "+Inf")]),
            Some(2.0)
        );
        assert!(scrape.value("c", &[]).is_some_and(f64::is_nan));
        assert_eq!(scrape.sum("missing", &[]), 0.0);
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "a{x=\"1\" 2",
            "a{x=1} 2",
            "a{x=\"1\"}",
            "a 1 2 3",
            "a one",
            "a-b 1",
        ] {
            assert!(Scrape::parse(bad).is_err(), "{bad:?}");
        }
    }
}
