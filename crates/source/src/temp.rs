//! Temporaries a later run can tell are dead, and locks that say what they
//! wait for.
//!
//! A temporary (a directory being unpacked or cloned into, a file being
//! downloaded) is named `<prefix>pid<pid>-<random>[suffix]`, and its owner
//! holds an exclusive `flock(2)` on it for as long as it lives. A run that
//! makes a temporary first removes, in the same directory, every one of
//! them whose process is gone and whose lock it can take: at once, whatever
//! its age, so an interrupted run's litter (an unpacked tree is ~290 MB)
//! lasts only until the next run. The pid tells a live owner on this
//! machine; the lock tells one the pid cannot (another pid namespace
//! sharing the cache), and covers a pid reused since.
//!
//! Entries with the prefix but no `pid<pid>-` (those of older versions of
//! this tool, and [`manifest::write_atomic`]'s `.tmp-<name>-*` files, which
//! hold no lock) are removed only once they are a day old: nothing alive
//! takes that long.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{flock, FlockOperation};

/// The prefix of the temporaries in the cache.
pub const PREFIX: &str = ".tmp-";

/// How old a temporary without a pid must be to be taken for dead.
const STALE: Duration = Duration::from_secs(24 * 60 * 60);

/// A temporary directory, removed on drop unless [`TempDir::keep`] is called;
/// its lock is held until then.
#[derive(Debug)]
pub struct TempDir {
    dir: tempfile::TempDir,
    _lock: File,
}

impl TempDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Leaves the directory where it is (it was renamed away, or is wanted)
    /// and releases its lock.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

/// A temporary file, removed on drop unless persisted; locked while open.
#[derive(Debug)]
pub struct TempFile {
    file: tempfile::NamedTempFile,
}

impl TempFile {
    /// The file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The open file (holding the lock), to write to.
    pub fn as_file_mut(&mut self) -> &mut File {
        self.file.as_file_mut()
    }

    /// Renames the file to `dest`.
    pub fn persist(self, dest: &Path) -> io::Result<()> {
        self.file.persist(dest).map(drop).map_err(|e| e.error)
    }
}

fn builder<'a>(prefix: &'a str, suffix: &'a str) -> tempfile::Builder<'a, 'a> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix).suffix(suffix).rand_bytes(6);
    b
}

fn own_prefix(prefix: &str) -> String {
    format!("{prefix}pid{}-", std::process::id())
}

/// A new temporary directory `<prefix>pid<pid>-XXXXXX` in `parent`, after
/// removing the dead ones there.
pub fn dir_in(parent: &Path, prefix: &str) -> io::Result<TempDir> {
    sweep(parent, prefix);
    let dir = builder(&own_prefix(prefix), "").tempdir_in(parent)?;
    let lock = File::open(dir.path())?;
    flock(&lock, FlockOperation::LockExclusive)?;
    Ok(TempDir { dir, _lock: lock })
}

/// A new temporary file `.tmp-pid<pid>-XXXXXX<suffix>` in `parent`, after
/// removing the dead temporaries there.
pub fn file_in(parent: &Path, suffix: &str) -> io::Result<TempFile> {
    sweep(parent, PREFIX);
    let file = builder(&own_prefix(PREFIX), suffix).tempfile_in(parent)?;
    flock(file.as_file(), FlockOperation::LockExclusive)?;
    Ok(TempFile { file })
}

/// Removes the dead temporaries named `<prefix>...` in `parent` (best
/// effort: what cannot be removed stays where it is). Returns what it removed.
pub fn sweep(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(parent) else {
        return removed;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        // Keep the dead one's lock while removing it, so that no other
        // sweeper takes it for its own.
        let _lock = match owner_pid(rest) {
            Some(pid) => match dead_and_locked(&path, pid) {
                Some(lock) => lock,
                None => continue,
            },
            None => {
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE);
                if !old {
                    continue;
                }
                None
            }
        };
        let gone = if meta.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The pid in `pid<pid>-...`.
fn owner_pid(rest: &str) -> Option<i32> {
    let digits = rest.strip_prefix("pid")?.split_once('-')?.0;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether process `pid` exists and is not a zombie (a killed process
/// whose parent has not reaped it yet), as far as this pid namespace can
/// tell.
pub fn process_alive(pid: i32) -> bool {
    let Some(raw) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    match rustix::process::test_kill_process(raw) {
        Ok(()) => !zombie(pid),
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

/// Whether `/proc/<pid>/stat` says the process is a zombie (state `Z`,
/// after the parenthesised command name).
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// The temporary's lock, if its owner `pid` is gone and nobody holds it.
fn dead_and_locked(path: &Path, pid: i32) -> Option<Option<File>> {
    if pid as u32 == std::process::id() || process_alive(pid) {
        return None;
    }
    // A symlink is nothing this module makes: whoever made it is gone.
    if fs::symlink_metadata(path).ok()?.file_type().is_symlink() {
        return Some(None);
    }
    let file = File::open(path).ok()?;
    flock(&file, FlockOperation::NonBlockingLockExclusive).ok()?;
    Some(Some(file))
}

/// An exclusive lock on a file, released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes an exclusive lock on `path` (created if missing), calling
/// `waiting` once first if another process holds it.
pub fn lock(path: &Path, waiting: impl FnOnce()) -> io::Result<Lock> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            waiting();
            flock(&file, FlockOperation::LockExclusive)?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Lock {
        _file: file,
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid of a process that has exited and been reaped.
    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(!process_alive(pid));
        pid
    }

    #[test]
    fn a_dead_owners_temporary_is_removed_at_once_and_a_live_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let ours = dir_in(parent.path(), PREFIX).unwrap();
        let dead = parent.path().join(format!(".tmp-pid{}-abcdef", dead_pid()));
        fs::create_dir_all(dead.join("glibc-2.36/malloc")).unwrap();
        fs::write(dead.join("glibc-2.36/malloc/malloc.c"), "x").unwrap();
        let dead_file = parent
            .path()
            .join(format!(".tmp-pid{}-abcdef-glibc.tar.xz", dead_pid()));
        fs::write(&dead_file, "partial").unwrap();
        // Live: ours, and one of a process that is running.
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let live = parent
            .path()
            .join(format!(".tmp-pid{}-abcdef", sleeper.id()));
        fs::create_dir(&live).unwrap();
        // A young temporary without a pid (write_atomic's) is left alone.
        let young = parent.path().join(".tmp-glibc-2.36.yaml-abcdef");
        fs::write(&young, "").unwrap();

        let mut removed = sweep(parent.path(), PREFIX);
        removed.sort();
        let mut expected = vec![dead.clone(), dead_file.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(ours.path().is_dir() && live.is_dir() && young.is_file());
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
    }

    #[test]
    fn a_zombie_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not reaped yet: a zombie once it has exited.
        let start = std::time::Instant::now();
        while !zombie(pid) {
            assert!(start.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!process_alive(pid));
        child.wait().unwrap();
        assert!(process_alive(std::process::id() as i32));
    }

    #[test]
    fn a_temporary_whose_lock_is_held_is_kept_whatever_its_pid() {
        let parent = tempfile::tempdir().unwrap();
        // As another pid namespace's live process would look: a pid that
        // is not running here, and a lock held.
        let path = parent.path().join(format!(".tmp-pid{}-abcdef", dead_pid()));
        fs::create_dir(&path).unwrap();
        let held = File::open(&path).unwrap();
        flock(&held, FlockOperation::LockExclusive).unwrap();
        assert!(sweep(parent.path(), PREFIX).is_empty());
        drop(held);
        assert_eq!(sweep(parent.path(), PREFIX), [path]);
    }

    #[test]
    fn temporaries_are_named_with_their_pid_and_vanish_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let d = dir_in(parent.path(), "malloc-standalone-").unwrap();
        let name = d.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with(&format!("malloc-standalone-pid{}-", std::process::id())),
            "{name}"
        );
        let f = file_in(parent.path(), ".tar.xz").unwrap();
        let fname = f.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(fname.starts_with(".tmp-pid") && fname.ends_with(".tar.xz"));
        drop((d, f));
        assert_eq!(fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_held_lock_makes_the_next_taker_wait_and_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = lock(&path, || panic!("nobody holds it yet")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let second = std::thread::spawn(move || {
            let waited = std::cell::Cell::new(false);
            let l = lock(&p, || waited.set(true)).unwrap();
            tx.send(()).unwrap();
            drop(l);
            waited.get()
        });
        // The second taker does not get the lock while the first holds it.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        drop(first);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(
            second.join().unwrap(),
            "the waiting callback was not called"
        );
    }
}
