//! Integration tests: real HTTP servers on 127.0.0.1, real sled stores in temp dirs, the real
//! `wirefold` binary as a process. One test binary, one module per feature.
//! Set `TEST_LOG=1` to see the daemons' logs as they run.

mod cli;
mod crash;
mod daemon;
mod damaged;
mod disk;
mod fault_server;
mod faults;
mod fixtures;
mod helpers;
mod hostile;
mod http;
mod page;
mod peer_corpus;
mod retention;
mod service;
mod wire_story;
