//! The black-box suite: one module per feature, each test on its own isolated stack
//! (see the `wagw_tests` harness).

mod api_keys;
mod auth;
mod commands;
mod cross_org;
mod errors;
mod events;
mod fleet_failover;
mod fleet_faults;
mod fleet_join;
mod fleet_partition;
mod gateways;
mod health;
mod jwks;
mod lifecycle;
mod metrics;
mod openapi;
mod pagination;
mod pairing;
mod roles;
mod send_e2e;
mod send_edge;
mod send_worker;
mod send_worker_handover;
mod sessions;
mod sim_controls;
mod status_events;
mod webhook_dead_letters;
mod webhook_delivery;
mod webhooks;
mod whatsapp_driver;
mod whatsapp_events;
mod worker_commands;
mod worker_fleet;
mod worker_reconnect_budget;
