//! Stage 1 of the pipeline: a glibc source tree to resolve.
//!
//! - `tree` (re-exported at the root): the cache, unpacking tarballs, a
//!   tree's version;
//! - [`fetch`]: a version by name, in the order cache, local mirror, Debian,
//!   GNU (and git tags), with [`fetch::FetchError`] and what the project
//!   pins; the sources it tries:
//!   - [`mirror`]: a local directory of release tarballs;
//!   - [`debian`]: Debian's package archive, through the machine's apt;
//!   - [`gnu`]: GNU's release tarballs;
//!   - [`git`]: a tag of a git repository;
//! - [`host`]: the glibc the host runs;
//! - [`libc`]: a `libc.so.6` file's glibc version and distribution;
//! - [`verify`]: a tree against a manifest's per-file pins;
//! - [`temp`]: temporaries a later run can tell are dead, and locks.

pub mod debian;
pub mod fetch;
pub mod git;
pub mod gnu;
pub mod host;
pub mod libc;
pub mod mirror;
mod process;
pub mod temp;
mod tree;
pub mod verify;

pub use tree::*;
