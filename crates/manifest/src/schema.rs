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

use crate::bounds::{MAX_BYTES, MAX_DEPTH};
use crate::features::Features;
use crate::fs::write_atomic;
use crate::plan::Plan;
use crate::validate::Refusal;

/// The schema version this build of the resolver writes and understands.
pub const SCHEMA: u32 = 2;

/// Errors reading or writing a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {cause}{}", read_hint(.cause))]
    Read { path: String, cause: std::io::Error },
    #[error("manifest {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error(
        "{path}: not a manifest: expected a YAML mapping with schema, version, source, \
         target, ... (as in nix/manifests/glibc-<version>.yaml), found {found}"
    )]
    NotAManifest { path: String, found: String },
    #[error(
        "{path}: not a manifest: not UTF-8 text (an invalid byte at offset {offset}); a \
         manifest is YAML or JSON text, as in nix/manifests/glibc-<version>.yaml"
    )]
    NotText { path: String, offset: usize },
    #[error(
        "{path}: too large for a manifest: {} (the limit is {} MiB; a manifest is about \
         100 KB); refused without reading it",
        match .size { Some(n) => format!("{n} bytes"), None => "more than the limit".into() },
        MAX_BYTES >> 20
    )]
    TooLarge { path: String, size: Option<u64> },
    #[error(
        "{path}: [ ] or {{ }} nest deeper than {MAX_DEPTH} levels (a manifest nests about 6); \
         refused before parsing"
    )]
    TooDeep { path: String },
    #[error(
        "manifest {path} is refused: {refusal}. A manifest may name only relative paths \
         inside the glibc tree or the project's shims/ and stubs/, and only flags the \
         resolver writes; regenerate it with `resolver resolve`"
    )]
    Refused { path: String, refusal: Refusal },
    #[error(
        "manifest {path} has schema {found}, newer than this resolver's {SCHEMA}; \
         update the resolver (git pull) or regenerate the manifest"
    )]
    NewerSchema { path: String, found: u32 },
    #[error("cannot write {path}: {cause}{}", write_hint(.cause))]
    Write { path: String, cause: std::io::Error },
}

/// What to do about a manifest that cannot be read.
fn read_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => {
            "; check the path (the committed manifests are nix/manifests/glibc-<version>.yaml)"
        }
        PermissionDenied => "; make it readable, or copy it somewhere readable",
        IsADirectory => "; give a manifest file, e.g. <dir>/glibc-<version>.yaml",
        _ => "",
    }
}

/// What to do about a file that cannot be written.
pub(crate) fn write_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match e.kind() {
        PermissionDenied | ReadOnlyFilesystem => {
            "; the directory is not writable: choose another output directory (--out DIR)"
        }
        StorageFull | QuotaExceeded => "; the disk is full: free some space, or choose another --out",
        NotADirectory | AlreadyExists => {
            "; part of the path is a file, not a directory: choose another output directory (--out DIR)"
        }
        _ => "",
    }
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
    /// schemas, and text over [`MAX_BYTES`] or nested deeper than
    /// [`MAX_DEPTH`] before parsing it. A JSON twin's `plan` must be the one
    /// its data resolves to (else the twin was edited by hand or written by
    /// another resolver). Every manifest is [validated](Manifest::validate):
    /// one asking for anything the resolver would not write is refused.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        #[derive(Deserialize)]
        struct Probe {
            schema: u32,
            #[serde(default)]
            plan: Option<serde::de::IgnoredAny>,
        }
        let path = || origin.to_owned();
        if text.len() as u64 > MAX_BYTES {
            return Err(ManifestError::TooLarge {
                path: path(),
                size: Some(text.len() as u64),
            });
        }
        if crate::bounds::too_deep(text, MAX_DEPTH) {
            return Err(ManifestError::TooDeep { path: path() });
        }
        let invalid = |e: serde_norway::Error| ManifestError::Parse {
            path: path(),
            message: e.to_string(),
        };
        let probe: Probe = match serde_norway::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                return Err(match not_a_mapping(text) {
                    Some(found) => ManifestError::NotAManifest {
                        path: path(),
                        found,
                    },
                    None => invalid(e),
                })
            }
        };
        if probe.schema > SCHEMA {
            return Err(ManifestError::NewerSchema {
                path: path(),
                found: probe.schema,
            });
        }
        let refused = |refusal| ManifestError::Refused {
            path: path(),
            refusal,
        };
        if probe.plan.is_none() {
            let manifest: Manifest = serde_norway::from_str(text).map_err(invalid)?;
            manifest.validate().map_err(refused)?;
            return Ok(manifest);
        }
        let mut value: serde_norway::Value = serde_norway::from_str(text).map_err(invalid)?;
        let plan = value
            .as_mapping_mut()
            .and_then(|m| m.remove("plan"))
            .expect("the probe found a plan");
        let manifest: Manifest = serde_norway::from_value(value).map_err(invalid)?;
        manifest.validate().map_err(refused)?;
        let plan: Plan = serde_norway::from_value(plan).map_err(invalid)?;
        // Equal to the checked data's plan or refused below; checked first
        // so that a flag added by hand is named.
        crate::validate::plan_args(&plan).map_err(refused)?;
        if plan != manifest.plan() {
            return Err(ManifestError::Parse {
                path: path(),
                message: "its `plan` is not the one its data resolves to (edited by hand, or \
                          written by another resolver); regenerate it with `resolver resolve`"
                    .into(),
            });
        }
        Ok(manifest)
    }

    /// Reads a manifest file: refuses one over [`MAX_BYTES`] before reading
    /// it (and reads no more than that of a file that grows, a pipe or a
    /// device), then [`Manifest::parse`]s it.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        use std::io::Read;
        let shown = path.display().to_string();
        let read_err = |cause| ManifestError::Read {
            path: shown.clone(),
            cause,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        if meta.is_dir() {
            return Err(read_err(std::io::ErrorKind::IsADirectory.into()));
        }
        let too_large = |size| ManifestError::TooLarge {
            path: shown.clone(),
            size,
        };
        if meta.len() > MAX_BYTES {
            return Err(too_large(Some(meta.len())));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(too_large(None));
        }
        let text = String::from_utf8(bytes).map_err(|e| ManifestError::NotText {
            path: shown.clone(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        Manifest::parse(&text, &shown)
    }

    /// The file name stem, e.g. `glibc-2.36`.
    pub fn stem(&self) -> String {
        format!("glibc-{}", self.version)
    }

    /// Writes `<dir>/glibc-<v>.yaml` and its JSON twin atomically; returns
    /// the YAML path. A manifest that [`Manifest::parse`] would refuse is
    /// not written.
    pub fn write(&self, dir: &Path) -> Result<std::path::PathBuf, ManifestError> {
        let yaml = dir.join(format!("{}.yaml", self.stem()));
        let json = dir.join(format!("{}.json", self.stem()));
        self.validate().map_err(|refusal| ManifestError::Refused {
            path: yaml.display().to_string(),
            refusal,
        })?;
        write_atomic(&json, self.to_json().as_bytes())?;
        write_atomic(&yaml, self.to_yaml().as_bytes())?;
        Ok(yaml)
    }
}

/// What the top of `text` is, when it is not a mapping (None when it is,
/// or when it is not YAML at all).
fn not_a_mapping(text: &str) -> Option<String> {
    use serde_norway::Value;
    let found = match serde_norway::from_str::<Value>(text) {
        Ok(Value::Mapping(_)) | Err(_) => return None,
        Ok(Value::Null) if text.trim().is_empty() => "an empty file".into(),
        Ok(Value::Null) => "null".into(),
        Ok(Value::Bool(b)) => format!("the boolean {b}"),
        Ok(Value::Number(n)) => format!("the number {n}"),
        Ok(Value::String(s)) => {
            let shown: String = s.chars().take(40).collect();
            format!("the text {shown:?}")
        }
        Ok(Value::Sequence(_)) => "a list".into(),
        Ok(Value::Tagged(_)) => "a tagged value".into(),
    };
    Some(found)
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
