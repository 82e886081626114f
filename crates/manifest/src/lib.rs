//! The manifest: the single build plan, pinned per glibc version.
//!
//! - [`schema`]: what a resolution records (the YAML and its JSON twin).
//! - [`plan`]: the builder contract: the files a build generates.
//! - [`fs`]: atomic file writes.
//!
//! The crate depends on nothing else in the workspace, so builders (the
//! plain CLI and the Nix flake, which reads the JSON twin) see only this.

pub mod fs;
pub mod plan;
pub mod schema;

pub use fs::write_atomic;
pub use plan::{tunables_header, TUNABLES_HEADER};
pub use schema::*;
