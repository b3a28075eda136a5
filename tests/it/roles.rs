//! Roles and capabilities: what each JWT role and each API-key capability set may do, and the
//! extra `admin` capability that sessions with `isAdminSession: true` need.

use reqwest::StatusCode;
use serde_json::json;
use wagw_api::Capability::{self, Admin, Manage, Read, Send};
use wagw_tests::assertions::{assert_error, assert_status};
use wagw_tests::{ORG_A, TestApp, TestOptions, id_of, session_path};

/// Which of read / manage / the admin flag / keys a principal may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grants {
    read: bool,
    manage: bool,
    admin_flag: bool,
    keys: bool,
}

const ALL: Grants = Grants {
    read: true,
    manage: true,
    admin_flag: true,
    keys: true,
};
const READ_ONLY: Grants = Grants {
    read: true,
    manage: false,
    admin_flag: false,
    keys: false,
};
const NOTHING: Grants = Grants {
    read: false,
    manage: false,
    admin_flag: false,
    keys: false,
};

/// Tries one operation of each kind with `token` and returns what was allowed; anything
/// refused must be `403 forbidden`.
async fn probe(app: &TestApp, token: &str, who: &str) -> Grants {
    let allowed = |response: &wagw_tests::HttpResponse, ok: StatusCode, op: &str| {
        if response.0 == ok {
            return true;
        }
        assert_eq!(
            response.0,
            StatusCode::FORBIDDEN,
            "{who} {op}: {}",
            response.1
        );
        assert_error(response, StatusCode::FORBIDDEN, "forbidden");
        false
    };
    let read = app.get("/api/v1/sessions", token).await;
    let manage = app
        .post("/api/v1/sessions", token, &json!({"label": "probe"}))
        .await;
    let flag = json!({"label": "probe admin", "isAdminSession": true});
    let admin_flag = app.post("/api/v1/sessions", token, &flag).await;
    let keys = app.get("/api/v1/api-keys", token).await;
    Grants {
        read: allowed(&read, StatusCode::OK, "read"),
        manage: allowed(&manage, StatusCode::CREATED, "manage"),
        admin_flag: allowed(&admin_flag, StatusCode::CREATED, "admin flag"),
        keys: allowed(&keys, StatusCode::OK, "keys"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_roles_map_to_the_capability_table() {
    let app = TestApp::spawn(TestOptions::default()).await;
    for (role, expected) in [
        ("owner", ALL),
        ("admin", ALL),
        ("member", READ_ONLY),
        ("viewer", READ_ONLY),
        ("superuser", NOTHING),
        ("", NOTHING),
    ] {
        let granted = probe(&app, &app.jwt(ORG_A, role), role).await;
        assert_eq!(granted, expected, "role {role:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_hold_exactly_the_capabilities_they_were_created_with() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let cases: [(&[Capability], Grants); 6] = [
        (&[Read], READ_ONLY),
        (
            &[Manage],
            Grants {
                manage: true,
                ..NOTHING
            },
        ),
        (
            &[Manage, Admin],
            Grants {
                manage: true,
                admin_flag: true,
                ..NOTHING
            },
        ),
        (&[Admin], NOTHING),
        (&[Send], NOTHING),
        (&[Read, Manage, Send, Admin], Grants { keys: false, ..ALL }),
    ];
    for (caps, expected) in cases {
        let key = app.api_key(ORG_A, caps).await;
        let granted = probe(&app, &key, &format!("key {caps:?}")).await;
        assert_eq!(granted, expected, "key with {caps:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_session_is_readable_but_managing_it_needs_admin() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let row = app
        .create_session(&owner, &json!({"label": "ops", "isAdminSession": true}))
        .await;
    assert_eq!(row["isAdminSession"], true);
    let id = id_of(&row);
    let read_manage = app.api_key(ORG_A, &[Read, Manage]).await;
    let member = app.jwt(ORG_A, "member");
    for token in [&read_manage, &member] {
        let got = assert_status(
            &app.get(&session_path(&id, ""), token).await,
            StatusCode::OK,
        )
        .clone();
        assert_eq!(got["id"], id.as_str());
    }
    let forbidden = |response: wagw_tests::HttpResponse, op: &str| {
        assert_eq!(response.0, StatusCode::FORBIDDEN, "{op}: {}", response.1);
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
    };
    let label = json!({"label": "renamed"});
    forbidden(
        app.patch(&session_path(&id, ""), &read_manage, &label)
            .await,
        "patch",
    );
    let unflag = json!({"isAdminSession": false});
    forbidden(
        app.patch(&session_path(&id, ""), &read_manage, &unflag)
            .await,
        "unflag",
    );
    for verb in [":start", ":stop", ":restart", ":logout"] {
        forbidden(
            app.post_empty(&session_path(&id, verb), &read_manage).await,
            verb,
        );
    }
    forbidden(app.get(&session_path(&id, "/qr"), &read_manage).await, "qr");
    let phone = json!({"phoneNumber": "6281234567890"});
    forbidden(
        app.post(&session_path(&id, "/pairing-code"), &read_manage, &phone)
            .await,
        "pairing code",
    );
    forbidden(
        app.delete(&session_path(&id, ""), &read_manage).await,
        "delete",
    );
    forbidden(
        app.patch(&session_path(&id, ""), &member, &label).await,
        "member patch",
    );

    let with_admin = app.api_key(ORG_A, &[Read, Manage, Admin]).await;
    let patched = app.patch(&session_path(&id, ""), &with_admin, &label).await;
    assert_eq!(assert_status(&patched, StatusCode::OK)["label"], "renamed");
    let stopped = app
        .post_empty(&session_path(&id, ":stop"), &with_admin)
        .await;
    assert_status(&stopped, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_admin_flag_on_an_existing_session_needs_admin() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let manage = app.api_key(ORG_A, &[Read, Manage]).await;
    let id = id_of(
        &app.create_session(&manage, &json!({"label": "plain"}))
            .await,
    );
    let flag = json!({"isAdminSession": true});
    let refused = app.patch(&session_path(&id, ""), &manage, &flag).await;
    assert_error(&refused, StatusCode::FORBIDDEN, "forbidden");
    let row = assert_status(
        &app.get(&session_path(&id, ""), &manage).await,
        StatusCode::OK,
    )
    .clone();
    assert_eq!(
        row["isAdminSession"], false,
        "the refused patch changed nothing"
    );
    let admin = app.api_key(ORG_A, &[Manage, Admin]).await;
    let flagged = app.patch(&session_path(&id, ""), &admin, &flag).await;
    assert_eq!(
        assert_status(&flagged, StatusCode::OK)["isAdminSession"],
        true
    );
}
