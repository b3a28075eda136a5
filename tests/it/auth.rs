//! Authentication: every way a credential is refused (always `401 unauthorized`), the JWT
//! algorithms accepted, and the JWKS cache with its rate-limited refetch on an unknown `kid`.

use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode};
use wagw_tests::assertions::{assert_status, assert_unauthorized};
use wagw_tests::tokens::{
    Claims, TestKey, alg_none_token, garbage_tokens, hs256_with_public_key, mint, mint_with, now_s,
    tamper_payload,
};
use wagw_tests::{HttpResponse, ORG_A, TestApp, TestOptions};

const LIST: &str = "/api/v1/sessions";

/// A change to the claims of an otherwise valid token.
type ClaimsEdit = fn(&mut serde_json::Value);

async fn list_with(app: &TestApp, token: &str) -> HttpResponse {
    app.get(LIST, token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_an_authorization_header_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let response = app.send(Method::GET, LIST, None, None).await;
    assert_unauthorized(&response, "no header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheme_other_than_bearer_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let valid = app.jwt(ORG_A, "owner");
    for header in [
        format!("Basic {}", "dXNlcjpwYXNz"),
        format!("Token {valid}"),
        valid.clone(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
    ] {
        let response = app
            .request(Method::GET, LIST, None)
            .header("authorization", &header)
            .send()
            .await;
        let response = wagw_tests::http::read_response(response.expect("sent")).await;
        assert_unauthorized(&response, &format!("authorization {header:.20}…"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_tokens_are_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    for token in garbage_tokens() {
        assert_unauthorized(&list_with(&app, &token).await, &token);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_jwt_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let mut claims = Claims::new(ORG_A, "owner");
    claims.exp = Some(now_s() - 3600);
    claims.iat = now_s() - 7200;
    assert_unauthorized(
        &list_with(&app, &mint_with(&claims, TestKey::Rsa1)).await,
        "expired",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_without_exp_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let mut claims = Claims::new(ORG_A, "owner");
    claims.exp = None;
    assert_unauthorized(
        &list_with(&app, &mint_with(&claims, TestKey::Rsa1)).await,
        "no exp",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_not_yet_valid_by_nbf_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let mut claims = Claims::new(ORG_A, "owner");
    claims.nbf = Some(now_s() + 3600);
    claims.exp = Some(now_s() + 7200);
    assert_unauthorized(
        &list_with(&app, &mint_with(&claims, TestKey::Rsa1)).await,
        "nbf",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_with_a_past_nbf_is_accepted() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let mut claims = Claims::new(ORG_A, "owner");
    claims.nbf = Some(now_s() - 10);
    assert_status(
        &list_with(&app, &mint_with(&claims, TestKey::Rsa1)).await,
        StatusCode::OK,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_for_another_issuer_or_audience_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let cases = [
        (
            "wrong iss",
            Claims {
                iss: Some("https://evil.test".into()),
                ..Claims::new(ORG_A, "owner")
            },
        ),
        (
            "no iss",
            Claims {
                iss: None,
                ..Claims::new(ORG_A, "owner")
            },
        ),
        (
            "wrong aud",
            Claims {
                aud: Some("another-api".into()),
                ..Claims::new(ORG_A, "owner")
            },
        ),
        (
            "no aud",
            Claims {
                aud: None,
                ..Claims::new(ORG_A, "owner")
            },
        ),
    ];
    for (what, claims) in cases {
        assert_unauthorized(
            &list_with(&app, &mint_with(&claims, TestKey::Rsa1)).await,
            what,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_and_audience_are_not_checked_when_not_configured() {
    let options = TestOptions {
        issuer: None,
        audience: None,
        ..TestOptions::edge_only()
    };
    let app = TestApp::spawn(options).await;
    let claims = Claims {
        iss: Some("anyone".into()),
        aud: Some("anything".into()),
        ..Claims::new(ORG_A, "owner")
    };
    assert_status(
        &list_with(&app, &mint_with(&claims, TestKey::Rsa1)).await,
        StatusCode::OK,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_signed_by_another_key_under_a_known_kid_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let token = mint(
        &Claims::new(ORG_A, "owner"),
        TestKey::Rsa2,
        "rsa1",
        Algorithm::RS256,
    );
    assert_unauthorized(
        &list_with(&app, &token).await,
        "rsa2 signature under kid rsa1",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_with_an_unknown_kid_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let token = mint_with(&Claims::new(ORG_A, "owner"), TestKey::Rsa2);
    assert_unauthorized(&list_with(&app, &token).await, "kid rsa2 not in the JWKS");
    let token = mint(
        &Claims::new(ORG_A, "owner"),
        TestKey::Rsa1,
        "nope",
        Algorithm::RS256,
    );
    assert_unauthorized(&list_with(&app, &token).await, "kid nope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alg_none_jwt_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let token = alg_none_token(&Claims::new(ORG_A, "owner"), "rsa1");
    assert_unauthorized(&list_with(&app, &token).await, "alg none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hs256_jwt_signed_with_the_rsa_public_key_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let token = hs256_with_public_key(&Claims::new(ORG_A, "owner"), TestKey::Rsa1);
    assert_unauthorized(&list_with(&app, &token).await, "HS256 with the public key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_whose_alg_does_not_match_its_key_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let claims = Claims::new(ORG_A, "owner");
    // An RSA signature presented as the EC key's, and an EC signature under the RSA kid.
    let rsa_as_ec = mint(&claims, TestKey::Rsa1, "ec1", Algorithm::RS256);
    assert_unauthorized(&list_with(&app, &rsa_as_ec).await, "RS256 under kid ec1");
    let ec_as_rsa = mint(&claims, TestKey::Ec1, "rsa1", Algorithm::ES256);
    assert_unauthorized(&list_with(&app, &ec_as_rsa).await, "ES256 under kid rsa1");
    let ps256 = mint(&claims, TestKey::Rsa1, "rsa1", Algorithm::PS256);
    assert_unauthorized(&list_with(&app, &ps256).await, "PS256 under an RS256 key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_with_a_tampered_payload_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let honest = mint_with(&Claims::new(ORG_A, "viewer"), TestKey::Rsa1);
    assert_status(&list_with(&app, &honest).await, StatusCode::OK);
    let tampered = tamper_payload(&honest, |claims| claims["org_id"] = "org_b".into());
    assert_unauthorized(&list_with(&app, &tampered).await, "tampered org_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_es256_and_eddsa_jwts_are_accepted() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    for key in TestKey::SERVED {
        let token = mint_with(&Claims::new(ORG_A, "viewer"), key);
        let response = list_with(&app, &token).await;
        assert_eq!(response.0, StatusCode::OK, "{key:?}: {}", response.1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_api_key_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let key = app.api_key(ORG_A, &[wagw_api::Capability::Read]).await;
    let last = if key.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{last}", &key[..key.len() - 1]);
    assert_unauthorized(&list_with(&app, &forged).await, "forged key");
    assert_unauthorized(
        &list_with(&app, &format!("{key}A")).await,
        "key with a suffix",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_without_a_usable_sub_or_org_id_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let token = |edit: fn(&mut serde_json::Value)| {
        let mut claims = serde_json::to_value(Claims::new(ORG_A, "owner")).expect("claims");
        edit(&mut claims);
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some("rsa1".into());
        jsonwebtoken::encode(&header, &claims, &TestKey::Rsa1.encoding_key()).expect("signs")
    };
    let cases: [(&str, ClaimsEdit); 4] = [
        ("no org_id", |c| {
            drop(c.as_object_mut().map(|o| o.remove("org_id")))
        }),
        ("org_id with a bad character", |c| {
            c["org_id"] = "org:a".into()
        }),
        ("org_id not a string", |c| c["org_id"] = 42.into()),
        ("no sub", |c| {
            drop(c.as_object_mut().map(|o| o.remove("sub")))
        }),
    ];
    for (what, edit) in cases {
        assert_unauthorized(&list_with(&app, &token(edit)).await, what);
    }
}
