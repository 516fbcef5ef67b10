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
//! - [`storage`]: sled behind a narrow API;
//! - [`http`]: the status server;
//! - [`eval`]: labeled sets and scores (`wirefold eval`);
//! - [`app`]: task wiring and ordered shutdown; [`cli`], [`telemetry`], [`export`]: edges.

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
pub mod normalize;
pub mod parse;
pub mod scheduler;
pub mod storage;
pub mod telemetry;
