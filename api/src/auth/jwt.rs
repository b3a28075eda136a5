//! Login JWTs: verified against the frontend's JWKS, with the algorithm taken from the key.
//!
//! The JWKS is cached for `jwks_cache_ttl`; a token whose `kid` is unknown triggers one refetch,
//! at most one per `jwks_refetch_interval`, and callers arriving meanwhile share its result.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::metrics::{JwksFetchReason, JwksFetches};

/// Timeout of one JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Why a token was refused; logged, never shown to the client.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("no JWKS is configured")]
    NoJwks,
    #[error("malformed token header: {0}")]
    Header(jsonwebtoken::errors::Error),
    #[error("token header has no kid")]
    NoKid,
    #[error("no key {0:?} in the JWKS")]
    UnknownKid(String),
    #[error("token alg {token:?} does not match the key's {key:?}")]
    AlgMismatch { token: Algorithm, key: Algorithm },
    #[error("token rejected: {0}")]
    Invalid(jsonwebtoken::errors::Error),
}

/// Why a JWK is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key is for encryption")]
    NotForSignatures,
    #[error("key type or curve is not supported (RSA, EC P-256, OKP Ed25519 only)")]
    Unsupported,
    #[error("the key's alg {0} does not fit its type")]
    AlgDisagrees(String),
}

/// The one algorithm a key verifies, decided by its type and curve, never by a token.
///
/// # Errors
/// [`KeyError`] for encryption keys, HMAC (`oct`) keys, other curves, or a contradicting `alg`.
pub fn algorithm_for(jwk: &Jwk) -> Result<Algorithm, KeyError> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err(KeyError::NotForSignatures);
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return Err(KeyError::Unsupported),
    };
    let agrees = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => alg == Algorithm::EdDSA,
        Some(_) => false,
    };
    match jwk.common.key_algorithm {
        Some(declared) if !agrees => Err(KeyError::AlgDisagrees(declared.to_string())),
        _ => Ok(alg),
    }
}

/// A usable verification key.
struct VerifyKey {
    alg: Algorithm,
    key: DecodingKey,
}

/// One fetched JWKS.
struct KeySet {
    keys: HashMap<String, Arc<VerifyKey>>,
    fetched_at: Instant,
}

/// When fetches happened, for the refetch rate limit.
#[derive(Default)]
struct FetchLog {
    last_unknown_kid_refetch: Option<Instant>,
    last_failure: Option<Instant>,
}

/// The claims we read. Unknown claims are ignored.
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub org_id: String,
    #[serde(default)]
    pub role: Option<String>,
}

/// Verifies login JWTs; one per edge, shared by every request.
pub struct JwtVerifier {
    jwks_url: Option<String>,
    http: reqwest::Client,
    validation_base: Validation,
    ttl: Duration,
    refetch_interval: Duration,
    cache: RwLock<Option<Arc<KeySet>>>,
    fetch: tokio::sync::Mutex<FetchLog>,
    /// Fetches by reason and outcome, for `/metrics`.
    pub fetches: JwksFetches,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("jwks_url", &self.jwks_url)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(config: &crate::Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|err| anyhow::anyhow!("building the JWKS HTTP client: {err}"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // A configured `iss` / `aud` must be present, not merely right when present.
        let mut required = vec!["exp"];
        match &config.jwt_audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &config.jwt_issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        Ok(Self {
            jwks_url: config.jwks_url.clone(),
            http,
            validation_base: validation,
            ttl: config.jwks_cache_ttl(),
            refetch_interval: config.jwks_refetch_interval(),
            cache: RwLock::new(None),
            fetch: tokio::sync::Mutex::new(FetchLog::default()),
            fetches: JwksFetches::default(),
        })
    }

    /// Checks signature, algorithm, `exp`, `nbf`, `iss` and `aud`, and returns the claims.
    ///
    /// # Errors
    /// [`JwtError`] naming the failed check, for the log only.
    pub async fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let url = self.jwks_url.as_deref().ok_or(JwtError::NoJwks)?;
        let header = jsonwebtoken::decode_header(token).map_err(JwtError::Header)?;
        let kid = header.kid.ok_or(JwtError::NoKid)?;
        let key = self.key_for(url, &kid).await?;
        if header.alg != key.alg {
            return Err(JwtError::AlgMismatch {
                token: header.alg,
                key: key.alg,
            });
        }
        let mut validation = self.validation_base.clone();
        validation.algorithms = vec![key.alg];
        jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(JwtError::Invalid)
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.cache
            .read()
            .map(|guard| guard.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn is_fresh(&self, set: &KeySet) -> bool {
        set.fetched_at.elapsed() < self.ttl
    }

    async fn key_for(&self, url: &str, kid: &str) -> Result<Arc<VerifyKey>, JwtError> {
        let seen = self.snapshot();
        if let Some(set) = seen.as_deref().filter(|set| self.is_fresh(set))
            && let Some(key) = set.keys.get(kid)
        {
            return Ok(key.clone());
        }
        let mut log = self.fetch.lock().await;
        let current = self.snapshot();
        let refreshed_meanwhile = match (&seen, &current) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (None, Some(_)) => true,
            _ => false,
        };
        let stale = current.as_deref().is_none_or(|set| !self.is_fresh(set));
        let may_fetch = !refreshed_meanwhile
            && if stale {
                log.last_failure
                    .is_none_or(|at| at.elapsed() >= self.refetch_interval)
            } else {
                log.last_unknown_kid_refetch
                    .is_none_or(|at| at.elapsed() >= self.refetch_interval)
            };
        if may_fetch {
            if !stale {
                log.last_unknown_kid_refetch = Some(Instant::now());
            }
            let fetched = self.fetch_set(url).await;
            let reason = JwksFetchReason::of(current.is_some(), stale);
            self.fetches.record(reason, fetched.is_ok());
            match fetched {
                Ok(set) => {
                    log.last_failure = None;
                    let mut guard = self.cache.write().unwrap_or_else(|p| p.into_inner());
                    *guard = Some(Arc::new(set));
                }
                Err(err) => {
                    log.last_failure = Some(Instant::now());
                    tracing::warn!(jwks.url = url, error = %err, "fetching the JWKS failed");
                }
            }
        }
        drop(log);
        self.snapshot()
            .and_then(|set| set.keys.get(kid).cloned())
            .ok_or_else(|| JwtError::UnknownKid(kid.to_owned()))
    }

    async fn fetch_set(&self, url: &str) -> anyhow::Result<KeySet> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let response = self.http.get(url).send().await?.error_for_status()?;
        let document: Document = response.json().await?;
        let mut keys = HashMap::new();
        for value in document.keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            match algorithm_for(&jwk).map(|alg| (alg, DecodingKey::from_jwk(&jwk))) {
                Ok((alg, Ok(key))) => {
                    keys.insert(kid, Arc::new(VerifyKey { alg, key }));
                }
                Ok((_, Err(err))) => tracing::warn!(jwk.kid = %kid, error = %err, "unusable JWK"),
                Err(err) => tracing::debug!(jwk.kid = %kid, error = %err, "skipping JWK"),
            }
        }
        tracing::info!(jwks.url = url, jwks.keys = keys.len(), "fetched the JWKS");
        Ok(KeySet {
            keys,
            fetched_at: Instant::now(),
        })
    }
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
