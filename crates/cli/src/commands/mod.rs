//! One file per command: its arguments and what it does.

pub mod build;
pub mod fetch;
pub mod graph;
pub mod replay;
pub mod resolve;
pub mod verify;
