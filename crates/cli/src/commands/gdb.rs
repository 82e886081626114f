//! `resolver gdb`: gdb on a program with a version's allocator preloaded,
//! set up as the Nix dev shell's gdbinit does (nix/shell.nix).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};

use crate::preload::{self, Ready, VariantArgs};
use crate::project::Project;
use crate::sources::Sources;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    variant: VariantArgs,
    /// The release build (-O2 -g) instead of the debug build (-O0 -g3) the
    /// Nix dev shell preloads.
    #[arg(long)]
    release: bool,
    /// The debugger to start (e.g. pwndbg's `pwndbg`).
    #[arg(long, value_name = "PROGRAM", default_value = "gdb")]
    gdb: OsString,
    /// A gdb command to run after the set-up (gdb's -ex); repeat for several.
    #[arg(long = "ex", value_name = "COMMAND")]
    ex: Vec<String>,
    /// gdb's batch mode (-batch): run the --ex commands, then exit.
    #[arg(long)]
    batch: bool,
    /// Do not read ~/.gdbinit and the like (gdb's -nx).
    #[arg(long)]
    nx: bool,
    /// Another argument for gdb, before the program; repeat for several.
    #[arg(long = "gdb-arg", value_name = "ARG", allow_hyphen_values = true)]
    gdb_args: Vec<OsString>,
    /// The program and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "PROGRAM [ARGS]"
    )]
    command: Vec<OsString>,
}

/// Builds the variant if needed, writes its gdbinit beside it, then
/// replaces this process with gdb (its exit status is the command's).
/// gdb itself runs without our allocator: the program gets it through
/// gdb's exec-wrapper.
pub fn run(a: Args, sources: &Sources, project: &Project) -> Result<()> {
    let debug = !a.release;
    let (root, ready) = a.variant.ready(debug, project, sources)?;
    let script = root.join("gdb/malloc_standalone.py").canonicalize()?;
    let init = gdbinit(&ready, &script);
    let init_path = ready.so.with_extension("gdbinit");
    if std::fs::read_to_string(&init_path).ok().as_deref() != Some(&init) {
        manifest::write_atomic(&init_path, init.as_bytes())?;
    }
    // The environment gdb's exec-wrapper gives the program: ours first in
    // LD_PRELOAD, then the variant's.
    let mut wrapper = format!(
        "set exec-wrapper env {}",
        quote(
            "LD_PRELOAD",
            &preload::ld_preload(&ready.so, std::env::var_os("LD_PRELOAD"))?
        )?
    );
    for (name, value) in a.variant.options.environment()? {
        wrapper.push(' ');
        wrapper.push_str(&quote(name, &value)?);
    }
    let mut cmd = Command::new(&a.gdb);
    if a.nx {
        cmd.arg("-nx");
    }
    if a.batch {
        cmd.arg("-batch");
    }
    cmd.args(&a.gdb_args)
        .arg("-ex")
        .arg(wrapper)
        .arg("-x")
        .arg(&init_path);
    for c in &a.ex {
        cmd.arg("-ex").arg(c);
    }
    cmd.arg("--args").args(&a.command);
    let e = cmd.exec();
    bail!(
        "cannot start the debugger {}: {e} (install gdb, or name another with --gdb)",
        Path::new(&a.gdb).display()
    )
}

/// `NAME=value` for a shell (gdb starts the exec-wrapper through one), in
/// single quotes.
fn quote(name: &str, value: &std::ffi::OsStr) -> Result<String> {
    let Some(value) = value.to_str() else {
        bail!("{name} is not UTF-8: {value:?}");
    };
    Ok(format!("'{name}={}'", value.replace('\'', r"'\''")))
}

/// The gdbinit `resolver gdb` loads: pending breakpoints on, our heap
/// command (and what it tells pwndbg and GEF), and on loading the
/// allocator, which version it is and where `main_arena` and `mp_` are.
fn gdbinit(ready: &Ready, script: &Path) -> String {
    let Ready { so, version, .. } = ready;
    let name = so
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let so = so.display();
    let script = PathBuf::from(script);
    let script = script.display();
    format!(
        r#"# Written by `resolver gdb` for glibc {version} ({so}).
set breakpoint pending on
define malloc-standalone
  echo glibc {version} allocator: {so}\n
  printf "main_arena at %p, mp_ at %p\n", &'malloc.c'::main_arena, &'malloc.c'::mp_
end
document malloc-standalone
Print which glibc version's allocator is preloaded and where main_arena and mp_ are.
end
# The heap command (arenas, tcache, bins, chunks), from the project's gdb/.
source {script}
catch load {name}
commands
  silent
  malloc-standalone
  continue
end
python
# pwndbg, when it is the debugger, reads the heap as this glibc version's.
try:
    gdb.execute("set glibc {version}", to_string=True)
except gdb.error:
    pass
end
echo malloc-standalone: glibc {version}'s allocator ({name}) is preloaded into the program; `run` starts it\n
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_survives_a_shell() {
        let q = quote("X", std::ffi::OsStr::new("a 'b' c")).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("env -i {q} sh -c 'printf %s \"$X\"'"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a 'b' c");
    }
}
