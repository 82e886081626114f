//! `resolver run`: a program with a version's allocator preloaded.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::Result;

use crate::preload::{self, VariantArgs};
use crate::project::Project;
use crate::sources::Sources;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    variant: VariantArgs,
    /// The debug build (-O0 -g3) instead of -O2 -g.
    #[arg(long)]
    debug: bool,
    /// The program and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "PROGRAM [ARGS]"
    )]
    command: Vec<OsString>,
}

/// Builds the variant if needed, then replaces this process with the
/// program (so its exit status, a signal included, is the command's).
pub fn run(a: Args, sources: &Sources, project: &Project) -> Result<()> {
    let (_, ready) = a.variant.ready(a.debug, project, sources)?;
    let env = a.variant.options.environment()?;
    let (program, args) = a.command.split_first().expect("clap requires a program");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env(
            "LD_PRELOAD",
            preload::ld_preload(&ready.so, std::env::var_os("LD_PRELOAD"))?,
        )
        .envs(env);
    let e = cmd.exec();
    // Only reached when the program could not be started: 127 when there
    // is none, 126 when it cannot be executed, as a shell says.
    eprintln!(
        "error: cannot run {}: {e}",
        std::path::Path::new(program).display()
    );
    std::process::exit(match e.kind() {
        std::io::ErrorKind::NotFound => 127,
        _ => 126,
    })
}
