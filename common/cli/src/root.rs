//! The state root: the one directory under which every tool keeps its
//! state (docs/ARCHITECTURE.md, "Conventions").

use std::path::PathBuf;

/// Where the state lives without `--root` or `$DOCKERISH_ROOT`.
pub const DEFAULT: &str = "/var/lib/dockerish";

/// `--root DIR` (or `$DOCKERISH_ROOT`), the same for every tool: a tool's
/// `Cli` takes it with `#[command(flatten)] root: StateRoot`.
#[derive(clap::Args, Clone, Debug)]
pub struct StateRoot {
    /// State root of every dockerish tool
    #[arg(
        long = "root",
        env = "DOCKERISH_ROOT",
        default_value = DEFAULT,
        global = true,
        value_name = "ROOT"
    )]
    pub path: PathBuf,
}
