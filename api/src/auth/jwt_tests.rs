//! Unit tests of JWK algorithm selection and of token verification against a local JWKS.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use jsonwebtoken::{EncodingKey, Header, encode};

/// Test-only keys, generated for these tests and used nowhere else.
const EC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgm4YSL+oshjDGas5j
zLT/fNePiAxR1BrLQZjBlTggzQahRANCAATOpreL42EaVbvB3wq17S3sC+BxlCnn
lQ+7y2Zrh7u/kQptiymz01gnn7nrzwu0bmqaUnNq4asUl4TtvWdIBIPe
-----END PRIVATE KEY-----";
const ED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIMoGv5Q3UyicDoDeNZFGNx+ffNti6NM7lFYS73NfMB8M
-----END PRIVATE KEY-----";

fn jwk(json: serde_json::Value) -> Jwk {
    serde_json::from_value(json).expect("a well-formed JWK")
}

#[test]
fn the_algorithm_comes_from_the_key_type() {
    let rsa = jwk(serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r"}));
    assert_eq!(algorithm_for(&rsa), Ok(Algorithm::RS256));
    let ec = jwk(serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}));
    assert_eq!(algorithm_for(&ec), Ok(Algorithm::ES256));
    let ed = jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AA"}));
    assert_eq!(algorithm_for(&ed), Ok(Algorithm::EdDSA));
}

#[test]
fn keys_that_disagree_or_are_symmetric_are_refused() {
    let rsa_as_hs =
        jwk(serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "HS256"}));
    assert!(matches!(
        algorithm_for(&rsa_as_hs),
        Err(KeyError::AlgDisagrees(_))
    ));
    let rsa_as_ps =
        jwk(serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "PS256"}));
    assert!(algorithm_for(&rsa_as_ps).is_err());
    let oct = jwk(serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}));
    assert_eq!(algorithm_for(&oct), Err(KeyError::Unsupported));
    let p384 = jwk(serde_json::json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}));
    assert_eq!(algorithm_for(&p384), Err(KeyError::Unsupported));
    let enc = jwk(serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "use": "enc"}));
    assert_eq!(algorithm_for(&enc), Err(KeyError::NotForSignatures));
}

/// A JWKS served on a free local port, counting its fetches.
struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    keys: Arc<RwLock<serde_json::Value>>,
}

async fn serve_jwks(keys: serde_json::Value) -> JwksServer {
    let fetches = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(RwLock::new(keys));
    let (f, k) = (fetches.clone(), keys.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let (f, k) = (f.clone(), k.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                let body = k.read().expect("lock").clone();
                axum::Json(serde_json::json!({ "keys": body }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/jwks", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    JwksServer { url, fetches, keys }
}

fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> serde_json::Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).expect("public part");
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).expect("serializes")
}

fn claims(exp_offset: i64) -> serde_json::Value {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    serde_json::json!({"sub": "user_1", "org_id": "org_1", "role": "owner", "exp": now + exp_offset})
}

fn sign(key: &EncodingKey, alg: Algorithm, kid: &str, claims: &serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, key).expect("signs")
}

fn verifier(url: &str, refetch_ms: &str) -> JwtVerifier {
    let config = crate::Config::try_parse_from([
        "wagw-api",
        "--jwks-url",
        url,
        "--jwks-refetch-interval-ms",
        refetch_ms,
    ])
    .expect("config");
    JwtVerifier::new(&config).expect("verifier")
}

#[tokio::test]
async fn es256_and_eddsa_tokens_verify_and_forgeries_do_not() {
    let ec = EncodingKey::from_ec_pem(EC_KEY.as_bytes()).expect("EC key");
    let ed = EncodingKey::from_ed_pem(ED_KEY.as_bytes()).expect("Ed key");
    let server = serve_jwks(serde_json::json!([
        public_jwk(&ec, Algorithm::ES256, "ec1"),
        public_jwk(&ed, Algorithm::EdDSA, "ed1"),
    ]))
    .await;
    let jwt = verifier(&server.url, "30000");

    let ok = jwt
        .verify(&sign(&ec, Algorithm::ES256, "ec1", &claims(60)))
        .await;
    assert_eq!(ok.expect("valid ES256").org_id, "org_1");
    assert!(
        jwt.verify(&sign(&ed, Algorithm::EdDSA, "ed1", &claims(60)))
            .await
            .is_ok()
    );

    // Expired, signed by the wrong key, or claiming another kid's key.
    let expired = sign(&ec, Algorithm::ES256, "ec1", &claims(-3600));
    assert!(matches!(
        jwt.verify(&expired).await,
        Err(JwtError::Invalid(_))
    ));
    let wrong_key = sign(&ed, Algorithm::EdDSA, "ec1", &claims(60));
    assert!(matches!(
        jwt.verify(&wrong_key).await,
        Err(JwtError::AlgMismatch { .. })
    ));

    // HS256 "signed" with the public key's bytes, and alg none.
    let public = serde_json::to_vec(&public_jwk(&ec, Algorithm::ES256, "ec1")).expect("json");
    let hs = sign(
        &EncodingKey::from_secret(&public),
        Algorithm::HS256,
        "ec1",
        &claims(60),
    );
    assert!(matches!(
        jwt.verify(&hs).await,
        Err(JwtError::AlgMismatch { .. })
    ));
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(serde_json::json!({"alg": "none", "kid": "ec1"})),
        b64(claims(60))
    );
    assert!(matches!(jwt.verify(&none).await, Err(JwtError::Header(_))));

    // A tampered payload breaks the signature.
    let good = sign(&ec, Algorithm::ES256, "ec1", &claims(60));
    let parts: Vec<&str> = good.split('.').collect();
    let mut forged = claims(60);
    forged["org_id"] = "org_2".into();
    let tampered = format!("{}.{}.{}", parts[0], b64(forged), parts[2]);
    assert!(matches!(
        jwt.verify(&tampered).await,
        Err(JwtError::Invalid(_))
    ));
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "one fetch, then the cache"
    );
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_rate_limited_refetch() {
    let ec = EncodingKey::from_ec_pem(EC_KEY.as_bytes()).expect("EC key");
    let ed = EncodingKey::from_ed_pem(ED_KEY.as_bytes()).expect("Ed key");
    let server = serve_jwks(serde_json::json!([public_jwk(
        &ec,
        Algorithm::ES256,
        "ec1"
    )]))
    .await;
    let jwt = verifier(&server.url, "60000");
    assert!(
        jwt.verify(&sign(&ec, Algorithm::ES256, "ec1", &claims(60)))
            .await
            .is_ok()
    );

    // The new key is published; the first unknown kid refetches, concurrently shared.
    *server.keys.write().expect("lock") = serde_json::json!([
        public_jwk(&ec, Algorithm::ES256, "ec1"),
        public_jwk(&ed, Algorithm::EdDSA, "ed1"),
    ]);
    let token = sign(&ed, Algorithm::EdDSA, "ed1", &claims(60));
    let (a, b) = tokio::join!(jwt.verify(&token), jwt.verify(&token));
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);

    // Further unknown kids within the interval do not refetch.
    for _ in 0..3 {
        let unknown = sign(&ed, Algorithm::EdDSA, "nope", &claims(60));
        assert!(matches!(
            jwt.verify(&unknown).await,
            Err(JwtError::UnknownKid(_))
        ));
    }
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn configured_issuer_and_audience_must_be_present_and_right() {
    let ec = EncodingKey::from_ec_pem(EC_KEY.as_bytes()).expect("EC key");
    let server = serve_jwks(serde_json::json!([public_jwk(
        &ec,
        Algorithm::ES256,
        "ec1"
    )]))
    .await;
    let config = crate::Config::try_parse_from([
        "wagw-api",
        "--jwks-url",
        &server.url,
        "--jwt-issuer",
        "https://login",
        "--jwt-audience",
        "wagw",
    ])
    .expect("config");
    let jwt = JwtVerifier::new(&config).expect("verifier");
    let with = |iss: Option<&str>, aud: Option<&str>| {
        let mut claims = claims(60);
        if let Some(iss) = iss {
            claims["iss"] = iss.into();
        }
        if let Some(aud) = aud {
            claims["aud"] = aud.into();
        }
        sign(&ec, Algorithm::ES256, "ec1", &claims)
    };
    assert!(
        jwt.verify(&with(Some("https://login"), Some("wagw")))
            .await
            .is_ok()
    );
    assert!(jwt.verify(&with(None, Some("wagw"))).await.is_err());
    assert!(
        jwt.verify(&with(Some("https://login"), None))
            .await
            .is_err()
    );
    assert!(
        jwt.verify(&with(Some("https://evil"), Some("wagw")))
            .await
            .is_err()
    );
    assert!(
        jwt.verify(&with(Some("https://login"), Some("other")))
            .await
            .is_err()
    );
}
