//! A glibc tree from a git tag: a shallow clone into `<cache>/git/<commit>/`.

use std::path::Path;
use std::process::Command;

use crate::fetch::FetchError;
use crate::process::run;
use crate::tree::{check_symlinks, publish_dir, temp_dir_in, Cache, GlibcSource, Origin};

/// Clones tag `tag` of the git repository `repo` (a path or URL) into the
/// cache, keyed by the commit the tag names, and records that commit. A
/// second call for a tag that still names the same commit clones nothing.
pub fn from_git(repo: &str, tag: &str, cache: &Cache) -> Result<GlibcSource, FetchError> {
    // A local path goes through git's transport (not a file copy) so that
    // --depth applies and the whole history is not copied.
    let url = match Path::new(repo).canonicalize() {
        Ok(p) if p.is_dir() => format!("file://{}", p.display()),
        _ => repo.to_string(),
    };
    let tagged = tag_commit(&url, repo, tag)?;
    let cached = cache.root().join("git").join(&tagged);
    if cached.is_dir() {
        return Ok(GlibcSource::from_root(
            cached,
            Origin::Git {
                tag: tag.to_string(),
                commit: tagged,
            },
        )?);
    }
    let parent = cache.dir("git")?;
    let tmp = temp_dir_in(&parent)?;
    // `clone --branch` would take a branch of the same name over the tag;
    // fetching the full ref name cannot be misread.
    run(git().arg("init").arg("--quiet").arg(tmp.path()))?;
    let tag_ref = format!("refs/tags/{tag}");
    run(git()
        .arg("-C")
        .arg(tmp.path())
        .args(["fetch", "--quiet", "--depth", "1", "--no-tags", "--"])
        .arg(&url)
        .arg(&tag_ref))?;
    run(git()
        .arg("-C")
        .arg(tmp.path())
        .args(["checkout", "--quiet", "FETCH_HEAD"]))?;
    let head = run(git().arg("-C").arg(tmp.path()).args(["rev-parse", "HEAD"]))?;
    // Normally equal to `tagged`; if the tag moved since ls-remote, what was
    // fetched is what the tag names now.
    let commit = String::from_utf8_lossy(&head.stdout).trim().to_string();
    GlibcSource::from_root(tmp.path().to_path_buf(), Origin::Tree)?;
    check_symlinks(tmp.path(), Path::new(repo))?;
    let dest = parent.join(&commit);
    publish_dir(tmp, &dest)?;
    Ok(GlibcSource::from_root(
        dest,
        Origin::Git {
            tag: tag.to_string(),
            commit,
        },
    )?)
}

fn git() -> Command {
    let mut cmd = Command::new("git");
    // Never wait for a password on a terminal nobody watches.
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .args(["-c", "advice.detachedHead=false"]);
    cmd
}

/// The commit `refs/tags/<tag>` names (peeled, for annotated tags).
fn tag_commit(url: &str, repo: &str, tag: &str) -> Result<String, FetchError> {
    let direct = format!("refs/tags/{tag}");
    let peeled = format!("{direct}^{{}}");
    let out = run(git()
        .args(["ls-remote", "--tags", "--"])
        .arg(url)
        .args([&direct, &peeled]))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut found = None;
    for line in text.lines() {
        let Some((sha, name)) = line.split_once('\t') else {
            continue;
        };
        if name == peeled {
            return Ok(sha.to_string());
        }
        if name == direct {
            found = Some(sha.to_string());
        }
    }
    found.ok_or_else(|| FetchError::GitTagNotFound {
        repo: repo.to_string(),
        tag: tag.to_string(),
    })
}
