//! The `fastcgi` route kind (the gateway lands with its issue); for now only the supervisor
//! of spawned applications.

// Unused until the gateway, which replaces this file, reaches it.
#[allow(dead_code)]
pub(crate) mod spawn;
