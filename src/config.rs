//! Configuration, parsed once at start into validated types. Every setting has a default that
//! works on a laptop; production values come from `HEARTH_*` environment variables or flags.

use std::net::SocketAddr;

use crate::store::StoreOptions;

#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `sqlite:PATH` or `postgres://…`.
    pub database_url: String,
    /// Request bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
    /// Base URL used in `Location`, `fullUrl` and paging links; derived from `Host` when unset.
    pub base_url: Option<String>,
    pub store: StoreOptions,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite:hearth-data/hearth.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            base_url: None,
            store: StoreOptions::default(),
        }
    }
}
