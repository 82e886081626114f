//! `--patch FILE.diff`: allocator modifications as a build input, for any
//! command that builds (`build` today; `run` and `gdb` flatten the same
//! [`PatchArgs`] and pass [`PatchArgs::load`]'s set to `build::BuildOptions`).

use std::path::PathBuf;

use anyhow::Result;
use build::{PatchError, PatchSet};

/// The patches a command builds with.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PatchArgs {
    /// Apply a unified diff (`git diff` of the glibc tree, paths like
    /// `a/malloc/malloc.c`; or of the project's `shims/`, `stubs/`) to the
    /// build's staged copies of the manifest's pinned files; repeat to apply
    /// several, in order. The .so is named `libmalloc-glibc-<v>+<name>.so` after the
    /// files' names and records them in `__malloc_standalone_patches`. With
    /// several versions, each is built if the patches apply to it.
    #[arg(long = "patch", value_name = "FILE.diff")]
    pub patch: Vec<PathBuf>,
}

impl PatchArgs {
    /// Reads and parses the patch files (a malformed one is an error here,
    /// before any build).
    pub fn load(&self) -> Result<PatchSet> {
        Ok(PatchSet::load(&self.patch)?)
    }
}

/// Whether `e` says the patches do not fit one version (they do not apply,
/// or touch a file its build does not use), rather than that building failed.
pub fn not_applicable(e: &build::BuildError) -> bool {
    matches!(
        e,
        build::BuildError::Patch(PatchError::DoesNotApply(_) | PatchError::Outside { .. })
    )
}
