//! The real WhatsApp driver on the `whatsapp-rust` crate (feature `whatsapp`). For now only its
//! Redis-backed, encrypted, fenced state store exists ([`store`]); the [`super::Driver`]
//! implementation is not written yet (see docs/whatsapp-driver.md).

pub mod store;
