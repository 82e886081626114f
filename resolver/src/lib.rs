//! Resolve glibc's allocator (malloc/malloc.c and what it needs) into a pinned,
//! deterministic build manifest, and build a standalone shared object from it.
//!
//! The pipeline runs in one direction:
//! source ([`source`], [`fetch`], [`mirror`]) -> include chain ([`sysdeps`]) -> libclang
//! ([`clang`]) -> dependency graph ([`graph`]) classified by [`rules`] ->
//! convergence loop ([`resolve`]) -> [`manifest`] -> [`build`] (a C compiler,
//! no libclang).

pub mod build;
pub mod clang;
pub mod configure;
pub mod fetch;
pub mod graph;
pub mod host;
pub mod manifest;
pub mod mirror;
pub mod replay;
pub mod resolve;
pub mod rules;
pub mod source;
pub mod sysdeps;
pub mod tunables;
pub mod verify;
