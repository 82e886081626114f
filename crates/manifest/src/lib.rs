//! The manifest: the single build plan, pinned per glibc version.
//!
//! - [`schema`]: what a resolution records (the YAML and its JSON twin).
//! - [`plan`]: the builder contract: the build plan resolved from a
//!   manifest, with the generated files, their names, and the placeholders
//!   builders substitute. The JSON twin carries it for Nix; `resolver build`
//!   runs the same one.
//! - [`fs`]: atomic file writes; [`digest`]: sha256 of bytes and files.
//! - [`committed`]: the project's committed manifests.
//! - [`validate`]: what a manifest may ask of a builder (every path inside
//!   its root, only the resolver's own flags); [`bounds`]: the size and
//!   nesting a manifest's text may have. Both are checked on every read.
//!
//! The crate depends on nothing else in the workspace, so builders (the
//! plain CLI and the Nix flake, which reads the JSON twin) see only this.

pub mod bounds;
pub mod committed;
pub mod digest;
mod features;
pub mod fs;
pub mod plan;
pub mod schema;
pub mod validate;

pub use committed::{committed, committed_path, committed_rel, in_dir, COMMITTED_DIR};
pub use features::{Feature, Features, UnknownFeature};
pub use fs::write_atomic;
pub use plan::{tunables_header, Plan, TUNABLES_HEADER};
pub use schema::*;
pub use validate::Refusal;
