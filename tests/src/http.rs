//! HTTP helpers of [`TestApp`]: requests with a bearer token, credentials, and the session
//! shortcuts most tests need (create, wait for a status, pair).

use crate::app::TestApp;
use crate::tokens::{Claims, TestKey, mint_with};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use wagw_api::Capability;
use wagw_common::OrganizationId;

/// Status, JSON body (`Null` when empty, a `String` when not JSON) and headers of a response.
pub type HttpResponse = (StatusCode, Value, HeaderMap);

/// Every capability an API key may hold (`keys` is for JWT principals only).
pub const EVERY_KEY_CAPABILITY: [Capability; 4] = [
    Capability::Read,
    Capability::Manage,
    Capability::Send,
    Capability::Admin,
];

/// Reads a response into an [`HttpResponse`].
///
/// # Panics
/// When the body cannot be read.
pub async fn read_response(response: reqwest::Response) -> HttpResponse {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("response body readable");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body, headers)
}

impl TestApp {
    /// A request to `path` with `Authorization: Bearer <token>` when a token is given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends a request with an optional JSON body and reads the answer.
    ///
    /// # Panics
    /// When the request cannot be sent (connection refused, timeout).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> HttpResponse {
        let mut builder = self.request(method.clone(), path, token);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        match builder.send().await {
            Ok(response) => read_response(response).await,
            Err(error) => panic!("{method} {path} failed to send: {error}"),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> HttpResponse {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> HttpResponse {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    /// `POST` without a body, as the lifecycle verbs take.
    pub async fn post_empty(&self, path: &str, token: &str) -> HttpResponse {
        self.send(Method::POST, path, Some(token), None).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> HttpResponse {
        self.send(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> HttpResponse {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    /// A fresh API key of `org` with `caps`, written straight to Redis; returns the secret.
    pub async fn api_key(&self, org: &str, caps: &[Capability]) -> String {
        self.api_key_with_id(org, caps).await.1
    }

    /// Like [`TestApp::api_key`], also returning the key's id.
    ///
    /// # Panics
    /// When the key cannot be written.
    pub async fn api_key_with_id(&self, org: &str, caps: &[Capability]) -> (String, String) {
        let org = OrganizationId::parse(org).expect("test org ids are valid");
        let mut redis = self.redis.clone();
        let created = wagw_api::api_keys::create_api_key(
            &mut redis,
            &self.keys,
            &org,
            "test key",
            caps,
            None,
            "user_test",
        )
        .await;
        let (view, secret) = match created {
            Ok(created) => created,
            Err(error) => panic!("create_api_key failed: {error:#}"),
        };
        let view = serde_json::to_value(&view).expect("the key view serializes");
        let id = view["id"]
            .as_str()
            .expect("the key view has an id")
            .to_owned();
        (id, secret)
    }

    /// A login JWT of `org` with `role`, `sub` = `user_test`, signed by `rsa1`.
    pub fn jwt(&self, org: &str, role: &str) -> String {
        mint_with(&Claims::new(org, role), TestKey::Rsa1)
    }

    /// `POST /api/v1/sessions`, asserting 201; returns the row.
    pub async fn create_session(&self, token: &str, body: &Value) -> Value {
        let (status, row, _) = self.post("/api/v1/sessions", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "create session {body}: {row}");
        row
    }

    /// Polls `GET /sessions/{id}` until its status is `status`; returns that row.
    ///
    /// # Panics
    /// When the status is not reached before `deadline`.
    pub async fn wait_for_status(
        &self,
        token: &str,
        id: &str,
        status: &str,
        deadline: Duration,
    ) -> Value {
        let until = tokio::time::Instant::now() + deadline;
        let path = format!("/api/v1/sessions/{id}");
        loop {
            let (code, row, _) = self.get(&path, token).await;
            if code == StatusCode::OK && row["status"] == status {
                return row;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "session {id} not {status} within {deadline:?}; last: {code} {row}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A new session of the default gateway, paired through a QR and a sim `pair` with
    /// `phone`; returns the `working` row.
    pub async fn paired_session(&self, token: &str, phone: &str) -> Value {
        self.paired_session_from(token, &json!({"label": "paired"}), phone)
            .await
    }

    /// Like [`TestApp::paired_session`], created with `create` (e.g. rate limits or
    /// `isAdminSession`).
    pub async fn paired_session_from(&self, token: &str, create: &Value, phone: &str) -> Value {
        let row = self.create_session(token, create).await;
        let id = row["id"].as_str().expect("row has an id").to_owned();
        let gateway = row["gatewayId"]
            .as_str()
            .expect("row has a gateway")
            .to_owned();
        let (status, qr, _) = self.get(&format!("/api/v1/sessions/{id}/qr"), token).await;
        assert_eq!(status, StatusCode::OK, "GET qr: {qr}");
        self.sim_pair(&gateway, &id, phone).await;
        self.wait_for_status(token, &id, "working", Duration::from_secs(10))
            .await
    }
}
