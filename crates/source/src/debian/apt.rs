//! apt and apt-cache on private state in `<cache>/apt/`: the lists of
//! every suite, refreshed once a day, and downloads checked against the
//! sha256 the archive's index gives.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use manifest::digest::sha256_file;

use super::archive::{debian_archive, Archive, DEBIAN_KEYRING};
use super::deb822::{field, parse_deb822};
use super::{DEBIAN_SOURCE_SUITE, DEBIAN_SUITES};
use crate::fetch::FetchError;
use crate::process::{command_failed, run, spawn};
use crate::tree::{has_sha256, temp_dir_in, Cache, SourceError};

/// Lists older than this are refreshed with `apt-get update`.
const APT_LISTS_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The machine's apt, pointed at private state in `<cache>/apt/` and at
/// the Debian archive the machine uses, over every suite of
/// [`DEBIAN_SUITES`](super::DEBIAN_SUITES).
pub struct Apt {
    dir: PathBuf,
    options: Vec<String>,
    /// Complaints from `apt-get update` that did not stop it.
    update_notes: String,
}

/// A binary package downloaded from Debian's archive and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadedDeb {
    /// The .deb in the cache.
    pub path: PathBuf,
    /// Its path in the archive (`pool/main/...`).
    pub file_name: String,
    /// Its sha256, as the archive's index gives it.
    pub sha256: String,
}

/// A version of a source package as `apt-cache showsrc` lists it.
#[derive(Debug)]
pub(crate) struct SourcePackage {
    pub(crate) version: String,
    pub(crate) directory: String,
    /// `(sha256, file name)`
    pub(crate) files: Vec<(String, String)>,
}

impl Apt {
    /// Writes the private sources list and refreshes the lists if they are
    /// missing, older than a day, or were made from a different list.
    pub fn prepare(cache: &Cache) -> Result<Apt, FetchError> {
        let archive = debian_archive()?;
        let dir = cache.dir("apt")?;
        for sub in ["lists/partial", "cache/archives/partial", "parts"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(|e| SourceError::io("create directory", &d, e))?;
        }
        let empty = dir.join("empty");
        if !empty.is_file() {
            manifest::write_atomic(&empty, b"").map_err(SourceError::from)?;
        }
        let mut options: Vec<String> = [
            ("Dir::Etc::SourceList", dir.join("sources.list")),
            ("Dir::Etc::SourceParts", dir.join("parts")),
            ("Dir::Etc::Preferences", empty.clone()),
            ("Dir::Etc::PreferencesParts", dir.join("parts")),
            ("Dir::State::Lists", dir.join("lists")),
            ("Dir::Cache", dir.join("cache")),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", v.display()))
        .chain([
            "Acquire::Languages=none".to_string(),
            // Without a binary cache every apt-cache call re-parses all the
            // lists (2 s each); some hosts (Docker images) turn it off.
            "Dir::Cache::pkgcache=pkgcache.bin".to_string(),
            // Only needed when running as root: download as root rather than
            // as _apt, who may not be able to enter a cache under /root.
            "APT::Sandbox::User=root".to_string(),
        ])
        .collect();
        // The machine may fetch extra indices (DEP-11, Contents) for every
        // suite; only Packages and Sources are needed.
        for target in extra_index_targets() {
            options.push(format!(
                "Acquire::IndexTargets::deb::{target}::DefaultEnabled=false"
            ));
        }
        let options = options
            .into_iter()
            .flat_map(|o| ["-o".to_string(), o])
            .collect();
        let mut apt = Apt {
            dir,
            options,
            update_notes: String::new(),
        };
        apt.update(&archive)?;
        Ok(apt)
    }

    /// `program` (apt-get, apt-cache) with the private state's options.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(&self.options).env("LC_ALL", "C");
        cmd
    }

    fn sources_list(archive: &Archive, unsigned: &BTreeSet<String>) -> String {
        let mut text = String::from(
            "# Written by malloc-standalone: Debian's archive at the address this machine uses.\n",
        );
        let opts = |suite: &str| {
            if unsigned.contains(suite) {
                "[trusted=yes] ".to_string()
            } else if let Some(k) = &archive.keyring {
                format!("[signed-by={}] ", k.display())
            } else {
                String::new()
            }
        };
        for suite in DEBIAN_SUITES {
            text.push_str(&format!(
                "deb {}{} {suite} main\n",
                opts(suite),
                archive.uri
            ));
        }
        text.push_str(&format!(
            "deb-src {}{} {DEBIAN_SOURCE_SUITE} main\n",
            opts(DEBIAN_SOURCE_SUITE),
            archive.uri
        ));
        text
    }

    fn update(&mut self, archive: &Archive) -> Result<(), FetchError> {
        let mut archive_keyed = Archive {
            uri: archive.uri.clone(),
            keyring: archive.keyring.clone(),
        };
        if archive_keyed.keyring.is_none() && Path::new(DEBIAN_KEYRING).is_file() {
            archive_keyed.keyring = Some(PathBuf::from(DEBIAN_KEYRING));
        }
        // apt-get refuses to update lists another apt-get is updating
        // ("Could not get lock"): runs sharing the cache take turns, and the
        // later one finds the lists fresh.
        let lock_path = self.dir.join("update.lock");
        let _lock = crate::temp::lock(&lock_path, || {
            eprintln!(
                "waiting for another run's apt-get update of {} (lock {})",
                self.dir.join("lists").display(),
                lock_path.display()
            )
        })
        .map_err(|e| SourceError::io("lock", &lock_path, e))?;
        let list_path = self.dir.join("sources.list");
        let stamp = self.dir.join("updated");
        let mut unsigned = BTreeSet::new();
        let base = Self::sources_list(&archive_keyed, &unsigned);
        let mut text = base.clone();
        // The stamp holds the list it was made from (before any unsigned
        // fallback), so a change of the machine's archive address or of this
        // code's suites forces a fresh update.
        if let Ok(stamp_text) = fs::read_to_string(&stamp) {
            let fresh = fs::metadata(&stamp)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age < APT_LISTS_MAX_AGE);
            if fresh && stamp_text == base && list_path.is_file() {
                return Ok(());
            }
        }
        for attempt in 0..2 {
            manifest::write_atomic(&list_path, text.as_bytes()).map_err(SourceError::from)?;
            let mut cmd = self.command("apt-get");
            cmd.args(["-q", "update"]);
            let out = spawn(&mut cmd)?;
            let all = format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // A suite signed by a key the machine's keyring lacks (a release
            // newer than the keyring package) is retried without verification
            // rather than lost.
            let newly_unsigned: BTreeSet<String> = all
                .lines()
                .filter(|l| {
                    l.contains("NO_PUBKEY")
                        || l.contains("is not signed")
                        || l.contains("couldn't be verified")
                        || l.contains("EXPKEYSIG")
                })
                .flat_map(|l| {
                    DEBIAN_SUITES
                        .iter()
                        .filter(move |s| l.contains(&format!(" {s} ")))
                        .map(|s| s.to_string())
                })
                .filter(|s| !unsigned.contains(s))
                .collect();
            if !newly_unsigned.is_empty() && attempt == 0 {
                unsigned.extend(newly_unsigned);
                text = Self::sources_list(&archive_keyed, &unsigned);
                continue;
            }
            let problems: Vec<&str> = all
                .lines()
                .filter(|l| l.starts_with("E:") || l.starts_with("W:") || l.starts_with("Err:"))
                .collect();
            let have_lists = fs::read_dir(self.dir.join("lists"))
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
                })
                .unwrap_or(false);
            if !out.status.success() && !have_lists {
                return Err(command_failed(&cmd, &out));
            }
            // A missing suite (say, a mirror without experimental) still
            // leaves the others usable; keep the complaint for the error
            // message in case the wanted version is not found.
            if !problems.is_empty() {
                self.update_notes = format!("; apt-get update said: {}", problems.join(" / "));
            }
            if out.status.success() {
                manifest::write_atomic(&stamp, base.as_bytes()).map_err(SourceError::from)?;
            }
            return Ok(());
        }
        Ok(())
    }

    /// Complaints from `apt-get update` that did not stop it (a suite the
    /// archive lacks, say), as a note for an error message: empty, or
    /// `"; apt-get update said: ..."`.
    pub fn update_notes(&self) -> &str {
        &self.update_notes
    }

    /// Versions of a binary package on offer, over all suites, in the
    /// order `apt-cache madison` lists them.
    pub fn versions(&self, package: &str) -> Result<Vec<String>, FetchError> {
        let out = run(self.command("apt-cache").args(["madison", package]))?;
        let mut versions = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            if let [name, version, from] = cols[..] {
                if name == package
                    && from.ends_with("Packages")
                    && !versions.iter().any(|v| v == version)
                {
                    versions.push(version.to_string());
                }
            }
        }
        Ok(versions)
    }

    /// Every version of a source package on offer.
    pub(crate) fn sources(&self, package: &str) -> Result<Vec<SourcePackage>, FetchError> {
        let out = run(self.command("apt-cache").args(["showsrc", package]))?;
        let mut found: Vec<SourcePackage> = Vec::new();
        for p in parse_deb822(&String::from_utf8_lossy(&out.stdout)) {
            if field(&p, "Package") != Some(package) {
                continue;
            }
            let (Some(version), Some(directory), Some(sums)) = (
                field(&p, "Version"),
                field(&p, "Directory"),
                field(&p, "Checksums-Sha256"),
            ) else {
                continue;
            };
            if found.iter().any(|s| s.version == version) {
                continue;
            }
            let files = sums
                .lines()
                .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
                    [sha, _size, name] => Some((sha.to_lowercase(), name.to_string())),
                    _ => None,
                })
                .collect();
            found.push(SourcePackage {
                version: version.to_string(),
                directory: directory.to_string(),
                files,
            });
        }
        Ok(found)
    }

    /// Downloads binary package `package` of Debian version `version` into
    /// `<cache>/downloads/debian/` (unless a file with the archive's sha256 is
    /// already there) and checks it against the archive's sha256.
    pub fn download(
        &self,
        package: &str,
        version: &str,
        cache: &Cache,
    ) -> Result<DownloadedDeb, FetchError> {
        let spec = format!("{package}={version}");
        let out = run(self.command("apt-cache").args(["show", &spec]))?;
        let paragraphs = parse_deb822(&String::from_utf8_lossy(&out.stdout));
        let (file_name, expected) = paragraphs
            .iter()
            .find_map(|p| Some((field(p, "Filename")?, field(p, "SHA256")?)))
            .ok_or_else(|| FetchError::Command {
                command: format!("apt-cache show {spec}"),
                status: "no Filename/SHA256 fields".to_string(),
                output: String::new(),
            })?;
        let expected = expected.to_lowercase();
        let base = file_name.rsplit('/').next().unwrap_or(file_name);
        let downloads = cache.dir("downloads/debian")?;
        let deb = downloads.join(base);
        if !has_sha256(&deb, &expected) {
            let tmp = temp_dir_in(&downloads)?;
            run(self
                .command("apt-get")
                .args(["-q", "download", &spec])
                .current_dir(tmp.path()))?;
            let got = single_file_with_suffix(tmp.path(), ".deb")?;
            verify_and_move(&got, &deb, &expected)?;
        }
        Ok(DownloadedDeb {
            path: deb,
            file_name: file_name.to_string(),
            sha256: expected,
        })
    }
}

/// Names of the machine's extra per-suite index targets (everything but Packages).
fn extra_index_targets() -> Vec<String> {
    let mut targets: BTreeSet<String> = [
        "DEP-11",
        "DEP-11-icons",
        "DEP-11-icons-small",
        "Contents-deb",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    if let Ok(out) = Command::new("apt-config")
        .arg("dump")
        .stdin(Stdio::null())
        .output()
    {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(rest) = line.strip_prefix("Acquire::IndexTargets::deb::") {
                if let Some((name, _)) = rest.split_once("::") {
                    targets.insert(name.to_string());
                }
            }
        }
    }
    targets.remove("Packages");
    targets.into_iter().collect()
}

/// The one file in `dir` whose name ends in `suffix`.
fn single_file_with_suffix(dir: &Path, suffix: &str) -> Result<PathBuf, FetchError> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| SourceError::io("list", dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    match found.len() {
        1 => Ok(found.pop().expect("one element")),
        n => Err(FetchError::BadPackage {
            path: dir.to_path_buf(),
            what: format!("exactly one {suffix} file (found {n})"),
        }),
    }
}

/// Moves `got` to `dest` if its sha256 is `expected`.
pub(super) fn verify_and_move(got: &Path, dest: &Path, expected: &str) -> Result<(), FetchError> {
    let actual = sha256_file(got).map_err(|e| SourceError::io("read", got, e))?;
    if actual != expected {
        return Err(FetchError::ChecksumMismatch {
            what: got.display().to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    fs::rename(got, dest).map_err(|e| SourceError::io("rename into place", dest, e))?;
    Ok(())
}
