//! The JWKS behind login JWTs: a key rotated in is picked up by one rate-limited refetch, and
//! without a JWKS every JWT is refused while API keys keep working.

use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use std::time::Duration;
use wagw_tests::assertions::{assert_status, assert_unauthorized};
use wagw_tests::tokens::{Claims, TestKey, mint, mint_with};
use wagw_tests::{HttpResponse, ORG_A, TestApp, TestOptions};

const LIST: &str = "/api/v1/sessions";

async fn list_with(app: &TestApp, token: &str) -> HttpResponse {
    app.get(LIST, token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kid_rotated_into_the_jwks_is_accepted_after_exactly_one_refetch() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let jwks = app.jwks.as_ref().expect("the default stack serves a JWKS");
    assert_status(
        &list_with(&app, &app.jwt(ORG_A, "owner")).await,
        StatusCode::OK,
    );
    let before = jwks.fetches();
    jwks.set_keys(&[TestKey::Rsa1, TestKey::Rsa2, TestKey::Ec1, TestKey::Ed1]);
    let rotated = mint_with(&Claims::new(ORG_A, "owner"), TestKey::Rsa2);
    // The edge may refuse until its refetch interval (1 s) since the start-up fetch has passed.
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = list_with(&app, &rotated).await;
        if response.0 == StatusCode::OK {
            break;
        }
        assert_unauthorized(&response, "rotated kid before the refetch");
        assert!(
            tokio::time::Instant::now() < until,
            "rotated kid never accepted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        jwks.fetches(),
        before + 1,
        "exactly one refetch for the rotated kid"
    );
    // A second unknown kid right after, within the refetch interval: refused, no new fetch.
    let unknown = mint(
        &Claims::new(ORG_A, "owner"),
        TestKey::Rsa1,
        "unknown-kid",
        Algorithm::RS256,
    );
    assert_unauthorized(&list_with(&app, &unknown).await, "second unknown kid");
    assert_unauthorized(
        &list_with(&app, &unknown).await,
        "second unknown kid, again",
    );
    assert_eq!(jwks.fetches(), before + 1, "no refetch within the interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwts_are_refused_without_a_jwks_while_api_keys_still_work() {
    let app = TestApp::spawn(TestOptions {
        jwks: false,
        ..TestOptions::edge_only()
    })
    .await;
    assert_unauthorized(
        &list_with(&app, &app.jwt(ORG_A, "owner")).await,
        "JWT without JWKS",
    );
    let key = app.api_key(ORG_A, &[wagw_api::Capability::Read]).await;
    assert_status(&list_with(&app, &key).await, StatusCode::OK);
}
