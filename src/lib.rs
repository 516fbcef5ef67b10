//! wirefold polls news feeds, normalizes their articles and folds exact and near-duplicate
//! wire copies from any source into stories, persisted in an embedded sled store and reported
//! over a small HTTP endpoint.
//!
//! # Layout
//! The data flows one way, one module per stage:
//!
//! ```text
//! config ─► scheduler ─► fetch ─► parse ─► normalize ─► fingerprint ─► fold (dedup index) ─► storage
//!                                                                                   │
//!                                                               http (/healthz, /status) ◄┘
//! ```
//!
//! - [`config`]: TOML + environment → validated [`config::Config`];
//! - [`scheduler`]: when each source is polled ([`scheduler::policy`] is the pure part);
//! - [`ingest`]: what one poll does, stage by stage, and the source state it records;
//! - [`fetch`]: the HTTP client (conditional GET, body cap, error classes);
//! - [`parse`]: feed-rs → [`normalize::RawEntry`], never keyed on invented ids;
//! - [`normalize`]: clean display text, fingerprint text, canonical URL, dates, entry key;
//! - [`fingerprint`]: content hash and near-duplicate signatures;
//! - [`dedup`]: the in-memory near-duplicate index over a time window;
//! - [`fold`]: the decision (unchanged / update / copy / new story) and its atomic write;
//!   [`fold::snapshot`]: the index saved beside the store, so that a restart need not rebuild it;
//! - [`storage`]: sled behind a narrow API (schema migrations, retention deletes, the
//!   read-through that finds damage);
//! - [`retention`]: the background task deleting old articles;
//! - [`http`]: the status server, API, change feed, event stream and page;
//! - [`eval`]: labeled sets and scores (`wirefold eval`);
//! - [`metrics`]: every exported metric, defined in one place;
//! - [`app`]: task wiring and ordered shutdown; [`notify`]: systemd's `sd_notify` protocol;
//!   [`cli`], [`telemetry`], [`export`], [`stats`]: edges.

pub mod app;
pub mod cli;
pub mod config;
pub mod dedup;
pub mod eval;
pub mod export;
pub mod fetch;
pub mod fingerprint;
pub mod fold;
pub mod http;
pub mod ingest;
pub mod inspect;
pub mod memory;
pub mod metrics;
pub mod normalize;
pub mod notify;
pub mod parse;
pub mod retention;
pub mod scheduler;
pub mod stats;
pub mod storage;
pub mod telemetry;
