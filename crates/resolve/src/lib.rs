//! Stage 2 of the pipeline: resolve a glibc tree's `malloc/malloc.c` into a
//! [`manifest::Manifest`].
//!
//! The include chain ([`sysdeps`]) -> libclang ([`clang`]) -> the dependency
//! graph ([`graph`]) classified by [`rules`] against the host's libc
//! ([`host`]) -> the convergence loop ([`resolve`]). [`configure`] and
//! [`tunables`] read what glibc's configure and `dl-tunables.list` decide.

pub mod clang;
pub mod configure;
mod converge;
pub mod graph;
pub mod host;
pub mod rules;
pub mod sysdeps;
pub mod tunables;

pub use converge::*;
