//! Test signing keys (committed fixtures) and login JWTs: honest ones, and every hostile kind
//! the edge must refuse (alg none, HMAC with the RSA public key, tampered, wrong key, ...).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::Value;

/// The `iss` every test app checks by default.
pub const ISSUER: &str = "https://login.wagw.test";
/// The `aud` every test app checks by default.
pub const AUDIENCE: &str = "wagw-api";

/// One of the fixture keys in `tests/fixtures/keys/` (see `generate.sh` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    /// RSA-2048, served in the JWKS from the start.
    Rsa1,
    /// RSA-2048, not served unless a test rotates it in.
    Rsa2,
    /// P-256, served from the start.
    Ec1,
    /// Ed25519, served from the start.
    Ed1,
}

impl TestKey {
    /// The keys a test app's JWKS serves from the start.
    pub const SERVED: [TestKey; 3] = [Self::Rsa1, Self::Ec1, Self::Ed1];

    pub fn kid(self) -> &'static str {
        match self {
            Self::Rsa1 => "rsa1",
            Self::Rsa2 => "rsa2",
            Self::Ec1 => "ec1",
            Self::Ed1 => "ed1",
        }
    }

    /// The algorithm the key signs with.
    pub fn alg(self) -> Algorithm {
        match self {
            Self::Rsa1 | Self::Rsa2 => Algorithm::RS256,
            Self::Ec1 => Algorithm::ES256,
            Self::Ed1 => Algorithm::EdDSA,
        }
    }

    /// The private key, PKCS#8 PEM.
    pub fn private_pem(self) -> &'static str {
        match self {
            Self::Rsa1 => include_str!("../fixtures/keys/rsa1.pem"),
            Self::Rsa2 => include_str!("../fixtures/keys/rsa2.pem"),
            Self::Ec1 => include_str!("../fixtures/keys/ec1.pem"),
            Self::Ed1 => include_str!("../fixtures/keys/ed1.pem"),
        }
    }

    /// The public key, SPKI PEM (what an attacker would use as an HMAC secret).
    pub fn public_pem(self) -> &'static str {
        match self {
            Self::Rsa1 => include_str!("../fixtures/keys/rsa1.pub.pem"),
            Self::Rsa2 => include_str!("../fixtures/keys/rsa2.pub.pem"),
            Self::Ec1 => include_str!("../fixtures/keys/ec1.pub.pem"),
            Self::Ed1 => include_str!("../fixtures/keys/ed1.pub.pem"),
        }
    }

    /// The public JWK, as a JWKS serves it.
    pub fn public_jwk(self) -> Value {
        let text = match self {
            Self::Rsa1 => include_str!("../fixtures/keys/rsa1.jwk.json"),
            Self::Rsa2 => include_str!("../fixtures/keys/rsa2.jwk.json"),
            Self::Ec1 => include_str!("../fixtures/keys/ec1.jwk.json"),
            Self::Ed1 => include_str!("../fixtures/keys/ed1.jwk.json"),
        };
        serde_json::from_str(text).expect("fixture JWKs are valid JSON (checked by a unit test)")
    }

    pub fn encoding_key(self) -> EncodingKey {
        let pem = self.private_pem().as_bytes();
        let key = match self {
            Self::Rsa1 | Self::Rsa2 => EncodingKey::from_rsa_pem(pem),
            Self::Ec1 => EncodingKey::from_ec_pem(pem),
            Self::Ed1 => EncodingKey::from_ed_pem(pem),
        };
        key.expect("fixture private keys are valid PKCS#8 PEM (checked by a unit test)")
    }
}

/// The claims of a login JWT. Optional claims are left out of the token when `None`.
#[derive(Debug, Clone, Serialize)]
pub struct Claims {
    pub sub: String,
    pub org_id: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

impl Claims {
    /// Valid for ten minutes, with the test app's issuer and audience, `sub` = `user_test`.
    pub fn new(org: &str, role: &str) -> Self {
        let now = now_s();
        Self {
            sub: "user_test".into(),
            org_id: org.into(),
            role: role.into(),
            exp: Some(now + 600),
            nbf: None,
            iat: now,
            iss: Some(ISSUER.into()),
            aud: Some(AUDIENCE.into()),
        }
    }

    #[must_use]
    pub fn with_sub(mut self, sub: &str) -> Self {
        self.sub = sub.into();
        self
    }
}

/// Seconds since the Unix epoch, the unit of JWT time claims.
pub fn now_s() -> i64 {
    wagw_common::time::now_ms() / 1000
}

/// Signs `claims` with `key`, writing `kid` and `alg` in the header as given (they may lie).
pub fn mint(claims: &Claims, key: TestKey, kid: &str, alg: Algorithm) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key.encoding_key())
        .expect("the fixture key signs with its own algorithm family")
}

/// An honest token: signed by `key`, with its own kid and algorithm.
pub fn mint_with(claims: &Claims, key: TestKey) -> String {
    mint(claims, key, key.kid(), key.alg())
}

/// `alg: none`: a header and payload with an empty signature.
pub fn alg_none_token(claims: &Claims, kid: &str) -> String {
    let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!("{}.{}.", b64_json(&header), b64_json(claims))
}

/// HS256 with the RSA public key's PEM bytes as the HMAC secret (the classic key confusion).
pub fn hs256_with_public_key(claims: &Claims, key: TestKey) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid().into());
    let secret = EncodingKey::from_secret(key.public_pem().as_bytes());
    jsonwebtoken::encode(&header, claims, &secret).expect("HMAC signing cannot fail")
}

/// Re-encodes the payload of `token` after `edit`, keeping the original signature.
pub fn tamper_payload(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS compact token has three parts");
    let payload = URL_SAFE_NO_PAD
        .decode(parts[1])
        .expect("the payload is base64url");
    let mut claims: Value = serde_json::from_slice(&payload).expect("the payload is JSON");
    edit(&mut claims);
    format!("{}.{}.{}", parts[0], b64_json(&claims), parts[2])
}

/// Strings that are not tokens at all.
pub fn garbage_tokens() -> Vec<String> {
    vec![
        "garbage".into(),
        "a.b.c".into(),
        "eyJhbGciOiJSUzI1NiJ9.e30".into(),
        "wagw_not-a-real-key-but-looks-a-bit-like-one-000000000".into(),
        "....".into(),
    ]
}

fn b64_json(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("claims serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};

    #[test]
    fn every_fixture_jwk_verifies_a_token_of_its_private_key() {
        for key in [TestKey::Rsa1, TestKey::Rsa2, TestKey::Ec1, TestKey::Ed1] {
            let token = mint_with(&Claims::new("org_a", "owner"), key);
            let jwk: Jwk = serde_json::from_value(key.public_jwk()).expect("valid JWK");
            assert_eq!(jwk.common.key_id.as_deref(), Some(key.kid()));
            let decoding = DecodingKey::from_jwk(&jwk).expect("usable JWK");
            let mut validation = Validation::new(key.alg());
            validation.set_audience(&[AUDIENCE]);
            validation.set_issuer(&[ISSUER]);
            let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation);
            assert!(data.is_ok(), "{key:?}: {data:?}");
        }
    }

    #[test]
    fn tampering_keeps_the_signature_and_changes_the_claims() {
        let token = mint_with(&Claims::new("org_a", "viewer"), TestKey::Rsa1);
        let tampered = tamper_payload(&token, |claims| claims["role"] = "owner".into());
        assert_eq!(token.rsplit('.').next(), tampered.rsplit('.').next());
        assert_ne!(token, tampered);
    }
}
