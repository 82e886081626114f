//! One file per command: its arguments and what it does.

pub mod build;
pub mod fetch;
pub mod gdb;
pub mod graph;
pub mod replay;
pub mod resolve;
pub mod run;
pub mod verify;
pub mod view;
