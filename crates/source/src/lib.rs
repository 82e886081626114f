//! Stage 1 of the pipeline: a glibc source tree to resolve.
//!
//! - [`tree`] (re-exported at the root): the cache, unpacking tarballs, a
//!   tree's version;
//! - [`fetch`]: a version by name, in the order cache, local mirror, Debian,
//!   GNU (and git tags);
//! - [`mirror`]: a local directory of release tarballs;
//! - [`verify`]: a tree against a manifest's per-file pins.

pub mod fetch;
pub mod mirror;
mod tree;
pub mod verify;

pub use tree::*;
