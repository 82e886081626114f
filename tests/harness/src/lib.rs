//! What only the test harness needs, kept out of the product: the real glibc
//! of a version to compare the built allocator with ([`reference_libc`],
//! [`reference_libc_dev`]), and other Debian packages its programs load
//! ([`debian_package_versions`], [`unpack_debian_library`]). Built on the
//! source crate's Debian primitives ([`source::debian`]). And the one
//! runner of programs the harness uses ([`process`]): its own process
//! group, a time limit, CPU time and peak RSS.
//!
//! Cache layout (under [`source::Cache::root`], beside the source crate's):
//! ```text
//! libc6/<debian version>/          Debian's libc6, unpacked (reference libcs)
//! libc6-dev/<debian version>/      its libc6-dev
//! deb/<package>/<version>/         other binary packages (libgcc-s1, libc6-dbg)
//! ```

mod packages;
pub mod process;
mod reference;

pub use packages::{build_id, debian_package_versions, libc_debug_file, unpack_debian_library};
pub use reference::{reference_libc, reference_libc_dev, ReferenceLibc};

use source::fetch::FetchError;

/// Errors from getting a reference libc.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// Checking the arguments, apt, a download or an unpack failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Debian's archive has no `libc6` of the wanted version.
    #[error("Debian's archive has no libc6 {wanted} (libc6 is on offer as {offered}), so there is no real glibc of that version to run programs against{notes}")]
    NoReferenceLibc {
        /// The upstream or Debian version wanted.
        wanted: String,
        /// Versions of `libc6` on offer, over all suites.
        offered: String,
        /// Anything apt-get update complained about.
        notes: String,
    },
}
