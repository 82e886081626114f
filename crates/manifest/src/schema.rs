//! The manifest's schema: what a resolution records, pinned per glibc
//! version (the YAML, reviewed, and its JSON twin, which adds the resolved
//! [`Plan`]).
//!
//! Every list is sorted or in a meaningful fixed order, every path is
//! relative, and nothing records time or machine paths, so the same inputs
//! give the same bytes on any machine. The host's libc and headers are
//! inputs too: [`Host`] records which ones a manifest was resolved with.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::features::Features;
use crate::fs::write_atomic;
use crate::plan::Plan;

/// The schema version this build of the resolver writes and understands.
pub const SCHEMA: u32 = 2;

/// Errors reading or writing a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("manifest {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error(
        "manifest {path} has schema {found}, newer than this resolver's {SCHEMA}; \
         update the resolver (git pull) or regenerate the manifest"
    )]
    NewerSchema { path: String, found: u32 },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// A pinned build plan for one glibc version's allocator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Schema version of this file.
    pub schema: u32,
    /// The glibc version, as a string ("2.36").
    pub version: String,
    /// Where the source came from and how to fetch it again.
    pub source: Source,
    /// The target the sysdeps chain was derived for.
    pub target: String,
    /// The sysdeps directories, in configure's order, derived from the Implies files.
    pub sysdeps: Vec<String>,
    /// The include search order, exactly as the compiler gets it.
    pub include_order: Vec<IncludeDir>,
    /// Preprocessor definitions added on the command line, sorted by name.
    pub defines: BTreeMap<String, String>,
    /// How every external symbol the allocator needs is satisfied, sorted by name.
    pub symbols: Vec<Symbol>,
    /// The translation units to compile, in resolution order.
    pub translation_units: Vec<TranslationUnit>,
    /// glibc files copied verbatim, with their hashes, sorted by path.
    pub verbatim: Vec<PinnedFile>,
    /// Our shim headers used, with their hashes, sorted by path.
    pub shims: Vec<PinnedFile>,
    /// Our stub sources used, with their hashes, sorted by path.
    pub stubs: Vec<PinnedFile>,
    /// Compiler and linker flags.
    pub flags: Flags,
    /// The exported symbols (the public allocator API of this version), sorted.
    pub exports: Vec<Export>,
    /// Allocator features detected in the source.
    pub features: Features,
    /// The tunables of the namespaces the allocator reads, from the version's
    /// `elf/dl-tunables.list` (the build generates
    /// [`TUNABLES_HEADER`](crate::TUNABLES_HEADER) from them).
    pub tunables: Vec<Tunable>,
    /// Build options a builder may switch on (`resolver build --hooks`,
    /// `--trace`), by name; off by default, so the default build stays the
    /// version's allocator exactly. (Absent from schema 1 manifests.)
    #[serde(default)]
    pub options: BTreeMap<String, BuildOption>,
    /// The host it was resolved on: what of the plan came from the host's
    /// libc and headers, which another host may answer differently.
    /// (Absent from manifests written before it was recorded.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
}

/// What a resolution took from its host (ARCHITECTURE.md, "What a manifest
/// takes from the host"): which of the allocator's needs the host's libc
/// satisfies (and so no stub, mapping or glibc file does), the allocator API
/// of its `<malloc.h>` that a stub must bridge, and the host headers that
/// declare, include and shadow. Identified, not listed: two hosts with the
/// same three values resolve a tree alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// The host libc's release banner, e.g. `GNU C Library (Debian GLIBC
    /// 2.36-9+deb12u14) stable release version 2.36`.
    pub libc: String,
    /// sha256 of the public symbols linking with `-lc` provides, sorted,
    /// one per line.
    pub exports_sha256: String,
    /// sha256 of the host headers the resolution read (the libc's and the
    /// compiler's): `<sha256>  <path>` of each, sorted by path, one per line.
    pub headers_sha256: String,
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` (exports sha256 {}, headers sha256 {})",
            self.libc, self.exports_sha256, self.headers_sha256
        )
    }
}

/// What switching on one build option adds to the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildOption {
    /// One line for `--help`-style listings.
    pub description: String,
    /// Stub units compiled in addition (pinned in [`Manifest::stubs`]).
    pub translation_units: Vec<TranslationUnit>,
    /// `-D` definitions for every unit, sorted by name.
    pub defines: BTreeMap<String, String>,
    /// `-D` renames for glibc's units only: each public entry point the
    /// option wraps, and the name glibc's definition takes instead (the
    /// option's stub defines the public name and calls it).
    pub glibc_renames: BTreeMap<String, String>,
    /// Symbols exported in addition.
    pub exports: Vec<Export>,
}

/// The identity of the source tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// How this tree was obtained.
    pub origin: Origin,
    /// The GNU release tarball of this version, where its hash is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gnu: Option<GnuRelease>,
}

/// How a source tree was obtained (internally tagged for Nix).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Origin {
    /// A directory given by the user; only the per-file hashes identify it.
    Tree,
    /// A tarball given by the user.
    Tarball { file_name: String, sha256: String },
    /// A git tag.
    Git { tag: String, commit: String },
    /// A Debian package: `glibc-source` (the patched tree) or `glibc` (the orig tarball).
    Debian {
        package: String,
        version: String,
        file_name: String,
        sha256: String,
        tarball: String,
        tarball_sha256: String,
    },
    /// The GNU release tarball.
    Gnu { url: String, sha256: String },
}

/// A GNU release tarball.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GnuRelease {
    pub url: String,
    pub sha256: String,
}

/// One entry of the include search order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum IncludeDir {
    /// `-include <path>` (project-relative).
    ForceInclude { path: String },
    /// `-I <path>` (project-relative): our shims, ahead of everything.
    Shims { path: String },
    /// `-I <path>` for files the builder generates (relative to the build dir).
    Generated { path: String },
    /// The host's own system headers (the compiler's default search).
    Host,
    /// `-idirafter <path>` relative to the glibc tree root ("" is the root itself).
    Glibc { path: String },
}

/// How one external symbol is satisfied. (No `deny_unknown_fields`: serde
/// cannot combine it with the flattened, tagged provider.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    pub name: String,
    #[serde(flatten)]
    pub provider: Provider,
}

/// Who provides a symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Provider {
    /// The host libc exports it under this very name.
    Host,
    /// An internal alias mapped to the public name the host exports (`-Dname=to`).
    Mapped { to: String },
    /// One of our stubs defines it.
    Stub { file: String },
    /// A glibc translation unit defines it.
    Glibc { file: String },
}

/// A translation unit to compile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TranslationUnit {
    /// A glibc file, relative to the tree root.
    Glibc { path: String },
    /// One of our stubs, relative to the project root.
    Stub { path: String },
}

impl TranslationUnit {
    /// The path, relative to its root.
    pub fn path(&self) -> &str {
        match self {
            TranslationUnit::Glibc { path } | TranslationUnit::Stub { path } => path,
        }
    }
}

/// A file pinned by its sha256.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedFile {
    pub path: String,
    pub sha256: String,
}

/// Compiler and linker flags (include and define flags come from their own fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flags {
    pub cflags: Vec<String>,
    pub debug_cflags: Vec<String>,
    pub ldflags: Vec<String>,
}

/// One exported symbol and the glibc symbol version it first appeared in
/// (its `malloc/Versions` node), or `bridge` for allocator API of the host
/// that the version lacks, which a stub provides on top of its allocator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    pub name: String,
    pub since: String,
}

/// One tunable from `elf/dl-tunables.list`; values are kept as written there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tunable {
    /// Full name, e.g. `glibc.malloc.tcache_count`.
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_alias: Option<String>,
    pub security_level: String,
}

impl Manifest {
    /// The YAML text (the reviewed form).
    pub fn to_yaml(&self) -> String {
        let body = serde_norway::to_string(self).expect("manifest serialises");
        format!(
            "# Generated by `resolver resolve`; do not edit. glibc {} allocator build plan.\n{body}",
            self.version
        )
    }

    /// The JSON twin (for Nix, which has no YAML reader): the same data,
    /// then `plan`, the build plan resolved from it ([`Manifest::plan`]).
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Twin<'a> {
            #[serde(flatten)]
            manifest: &'a Manifest,
            plan: Plan,
        }
        let twin = Twin {
            manifest: self,
            plan: self.plan(),
        };
        let mut s = serde_json::to_string_pretty(&twin).expect("manifest serialises");
        s.push('\n');
        s
    }

    /// The build plan this manifest resolves to (what its JSON twin's `plan`
    /// holds, and what `resolver build` runs).
    pub fn plan(&self) -> Plan {
        Plan::of(self)
    }

    /// Parses YAML or JSON text (JSON is a subset of YAML); refuses newer
    /// schemas. A JSON twin's `plan` must be the one its data resolves to
    /// (else the twin was edited by hand or written by another resolver).
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        #[derive(Deserialize)]
        struct Probe {
            schema: u32,
            #[serde(default)]
            plan: Option<serde::de::IgnoredAny>,
        }
        let invalid = |e: serde_norway::Error| ManifestError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        };
        let probe: Probe = serde_norway::from_str(text).map_err(invalid)?;
        if probe.schema > SCHEMA {
            return Err(ManifestError::NewerSchema {
                path: origin.to_owned(),
                found: probe.schema,
            });
        }
        if probe.plan.is_none() {
            return serde_norway::from_str(text).map_err(invalid);
        }
        let mut value: serde_norway::Value = serde_norway::from_str(text).map_err(invalid)?;
        let plan = value
            .as_mapping_mut()
            .and_then(|m| m.remove("plan"))
            .expect("the probe found a plan");
        let manifest: Manifest = serde_norway::from_value(value).map_err(invalid)?;
        let plan: Plan = serde_norway::from_value(plan).map_err(invalid)?;
        if plan != manifest.plan() {
            return Err(ManifestError::Parse {
                path: origin.to_owned(),
                message: "its `plan` is not the one its data resolves to (edited by hand, or \
                          written by another resolver); regenerate it with `resolver resolve`"
                    .into(),
            });
        }
        Ok(manifest)
    }

    /// Reads a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// The file name stem, e.g. `glibc-2.36`.
    pub fn stem(&self) -> String {
        format!("glibc-{}", self.version)
    }

    /// Writes `<dir>/glibc-<v>.yaml` and its JSON twin atomically; returns the YAML path.
    pub fn write(&self, dir: &Path) -> Result<std::path::PathBuf, ManifestError> {
        let yaml = dir.join(format!("{}.yaml", self.stem()));
        let json = dir.join(format!("{}.json", self.stem()));
        write_atomic(&json, self.to_json().as_bytes())?;
        write_atomic(&yaml, self.to_yaml().as_bytes())?;
        Ok(yaml)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Tree => write!(f, "a local directory"),
            Origin::Tarball { file_name, sha256 } => write!(f, "{file_name} (sha256 {sha256})"),
            Origin::Git { tag, commit } => write!(f, "git tag {tag} (commit {commit})"),
            Origin::Debian {
                package, version, ..
            } => write!(f, "Debian {package} {version}"),
            Origin::Gnu { url, sha256 } => write!(f, "{url} (sha256 {sha256})"),
        }
    }
}
