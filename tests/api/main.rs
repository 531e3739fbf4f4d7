//! Integration tests: the real server over HTTP, on SQLite by default and on PostgreSQL when
//! HEARTH_TEST_DATABASE_URL is set. One binary, so the crate links once.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod concurrency;
mod crud;
mod generated;
mod helpers;
mod history;
mod import;
mod measure_api;
mod measure_more;
mod measure_params;
mod measure_pushdown;
mod measure_reads;
mod search_bundle;
mod search_conditional;
mod search_conditional_race;
mod search_refs;
mod search_reindex;
mod search_sort;
mod search_summary;
mod search_support;
mod search_system;
mod search_terms;
mod search_types;
mod spec_examples;
mod transaction;
