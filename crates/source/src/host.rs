//! The glibc the host runs, and its Debian package version where dpkg
//! knows it.

use std::process::{Command, Stdio};

use crate::debian::upstream_version;
use crate::fetch::FetchError;
use crate::process::run;
use crate::tree::parse_version;

/// The glibc the host runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostGlibc {
    /// Upstream version, e.g. `"2.36"`.
    pub version: String,
    /// On Debian and derivatives, the installed `libc6` version, e.g. `"2.36-9+deb12u14"`.
    pub debian_version: Option<String>,
}

/// The host's glibc: the version from `getconf GNU_LIBC_VERSION`, and where
/// dpkg knows it, the Debian version of `libc6`.
pub fn host_glibc() -> Result<HostGlibc, FetchError> {
    let out = run(Command::new("getconf").arg("GNU_LIBC_VERSION"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = match text.split_whitespace().collect::<Vec<_>>()[..] {
        ["glibc", v] if parse_version(v).is_some() => v.to_string(),
        _ => {
            return Err(FetchError::HostGlibc {
                reason: format!("getconf GNU_LIBC_VERSION printed `{}`", text.trim()),
            })
        }
    };
    // Absent dpkg (not Debian) is not an error: there is simply no Debian version.
    let debian_version = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}\\n", "libc6"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout);
            text.lines().next().map(|l| l.trim().to_string())
        })
        // A libc6 package that is not the running glibc would mislead.
        .filter(|d| upstream_version(d) == version);
    Ok(HostGlibc {
        version,
        debian_version,
    })
}
