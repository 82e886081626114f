//! Running the external programs a fetch needs (git, apt-get, apt-cache):
//! output captured, stdin closed, a failure turned into a [`FetchError`]
//! that shows the command line and the tail of what it printed.

use std::process::{Command, Output, Stdio};

use crate::fetch::FetchError;

/// The command line, quoted as a POSIX shell would need it.
pub(crate) fn command_line(cmd: &Command) -> String {
    let program = cmd.get_program().to_string_lossy();
    let args = cmd.get_args().map(|a| a.to_string_lossy());
    shell_words::join(std::iter::once(program).chain(args))
}

/// Runs a command to completion with output captured.
pub(crate) fn spawn(cmd: &mut Command) -> Result<Output, FetchError> {
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|error| FetchError::Spawn {
            program: cmd.get_program().to_string_lossy().into_owned(),
            error,
        })
}

/// Like [`spawn`], but a non-zero exit is an error.
pub(crate) fn run(cmd: &mut Command) -> Result<Output, FetchError> {
    let out = spawn(cmd)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(command_failed(cmd, &out))
    }
}

/// The error for `cmd` having exited as `out` says: its command line, its
/// status and the last 12 non-blank lines of its stderr (or stdout, when
/// stderr is empty).
pub(crate) fn command_failed(cmd: &Command, out: &Output) -> FetchError {
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if text.trim().is_empty() {
        text = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    FetchError::Command {
        command: command_line(cmd),
        status: out.status.to_string(),
        output: tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_quoted() {
        let mut cmd = Command::new("git");
        cmd.args(["ls-remote", "--", "/a b", "it's", "refs/tags/x^{}"]);
        assert_eq!(
            command_line(&cmd),
            r#"git ls-remote -- '/a b' 'it'\''s' refs/tags/x^{}"#
        );
    }
}
