//! Example values of the edge's own response types, built from the types themselves (the wire
//! types' examples are in [`wagw_common::examples`], whose story these continue).

use wagw_common::examples::{self as common, AT, GATEWAY_ID, USER_ID};
use wagw_common::{ApiKeyId, GatewayId, Session, SessionStatus};

use crate::api_keys::ApiKeyView;
use crate::auth::Capability;
use crate::pagination;
use crate::routes::api_keys::{ApiKeyList, CreatedApiKey};
use crate::routes::events::EventPage;
use crate::routes::gateways::GatewayList;
use crate::routes::sessions::SessionPage;
use crate::routes::webhook_dead_letters::{DeadLetterPage, Redelivery};
use crate::routes::webhooks::{CreatedWebhook, WebhookList};
use crate::store::fleet::{GatewayView, StatusCounts, WorkerView};

/// The example API key's id.
const API_KEY_ID: &str = "01J9ZXD2E4F6G8H0J2K4M6N8P0";

/// The example session just after `:start`: connecting.
pub fn starting_session() -> Session {
    Session {
        status: SessionStatus::Starting,
        ..common::session()
    }
}

/// The example session after `:stop`: disconnected, still paired.
pub fn stopped_session() -> Session {
    Session {
        status: SessionStatus::Stopped,
        desired_state: wagw_common::DesiredState::Stopped,
        ..common::session()
    }
}

/// The example session after `:logout`: stopped, the number detached.
pub fn logged_out_session() -> Session {
    let mut row = stopped_session();
    row.detach_number();
    row
}

/// The example session after the example `PATCH`.
pub fn updated_session() -> Session {
    // The patch keeps the bounds (a test in `wagw_common::examples` says so).
    common::session_patch()
        .apply_to(&common::session())
        .unwrap_or_else(|_| common::session())
}

/// A page of one session, with a token for the next.
pub fn session_page() -> SessionPage {
    let row = common::session();
    SessionPage {
        next_page_token: Some(pagination::encode_token(&row.id)),
        sessions: vec![row],
    }
}

/// A page of one event; more are stored.
pub fn event_page() -> EventPage {
    let event = common::event();
    EventPage {
        next_page_token: Some(event.id.clone()),
        events: vec![event],
    }
}

/// A key for a sending script.
pub fn api_key_view() -> ApiKeyView {
    ApiKeyView {
        id: ApiKeyId::parse(API_KEY_ID).expect("API_KEY_ID is a canonical ULID"),
        name: "order-notifier".to_owned(),
        capabilities: vec![Capability::Read, Capability::Send],
        created_at: AT,
        expires_at: None,
        created_by_user_id: USER_ID.to_owned(),
    }
}

/// The organization's keys.
pub fn api_key_list() -> ApiKeyList {
    ApiKeyList {
        api_keys: vec![api_key_view()],
    }
}

/// A new key with its secret, shown once.
pub fn created_api_key() -> CreatedApiKey {
    CreatedApiKey {
        view: api_key_view(),
        key: "wagw_q8Xr2mVt7LcN4pZs9KdF3hWy6BjGe1Ru5TaQo0YvMx".to_owned(),
    }
}

/// A new webhook with its secret, shown once.
pub fn created_webhook() -> CreatedWebhook {
    CreatedWebhook {
        view: common::webhook_view(),
        secret: "whsec_5f2b6c0e9a4d4c3f8e1b7a6d5c4b3a2918f7e6d5c4b3a29180f1e2d3c4b5a697".to_owned(),
    }
}

/// The organization's webhooks.
pub fn webhook_list() -> WebhookList {
    WebhookList {
        webhooks: vec![common::webhook_view()],
    }
}

/// The last page of a webhook's dead letters.
pub fn dead_letter_page() -> DeadLetterPage {
    DeadLetterPage {
        dead_letters: vec![common::dead_letter()],
        next_page_token: None,
    }
}

/// A redelivery queued.
pub fn redelivery() -> Redelivery {
    let letter = common::dead_letter();
    Redelivery {
        event_id: letter.event.id,
        webhook_id: common::webhook_view().id,
        queued_at: AT + 3_600_000,
    }
}

/// One worker holding all 16 shards of the gateway.
pub fn gateway_view() -> GatewayView {
    let sessions = StatusCounts {
        stopped: 2,
        scan_qr_code: 1,
        working: 40,
        ..StatusCounts::default()
    };
    GatewayView {
        id: GatewayId::parse(GATEWAY_ID).expect("GATEWAY_ID is a valid gateway id"),
        shards: Some(16),
        workers: vec![WorkerView {
            id: "worker-1".to_owned(),
            driver: Some("whatsapp".to_owned()),
            shards: (0..16).collect(),
            sessions: sessions.clone(),
            last_heartbeat_at: AT,
        }],
        sessions,
    }
}

/// The fleet of one gateway.
pub fn gateway_list() -> GatewayList {
    GatewayList {
        gateways: vec![gateway_view()],
    }
}
