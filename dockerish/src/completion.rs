//! `dockerish completion bash|zsh|fish`: clap_complete's script for the
//! whole command line, and a few lines more that complete container and
//! image names from the state root (`ps -a` and `images`, with their
//! templates), which no static script can know.
//!
//! Installed once: `dockerish completion bash > /etc/bash_completion.d/dockerish`
//! (each tool prints its own with `TOOL --completion SHELL`).

use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Error, Result, ToolError};

/// The names of the state root (`$DOCKERISH_ROOT`, as every command takes it).
const NAMES: &str = "dockerish ps -a --format '{{.Names}}' 2>/dev/null; \
                     dockerish images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null";

pub fn completion(shell: Shell) -> Result<i32> {
    let extra = match shell {
        // After clap's function: a word that is not a flag may also be a
        // name (from the second word on: the first is the command).
        Shell::Bash => format!(
            r#"
_dockerish_names() {{ {NAMES}; }}
_dockerish_with_names() {{
    _dockerish "$@"
    local cur="${{COMP_WORDS[COMP_CWORD]}}"
    if [[ $COMP_CWORD -ge 2 && "$cur" != -* ]]; then
        COMPREPLY+=( $(compgen -W "$(_dockerish_names)" -- "$cur") )
    fi
}}
complete -o bashdefault -o default -o nosort -F _dockerish_with_names dockerish
"#
        ),
        Shell::Zsh => format!(
            r#"
_dockerish_with_names() {{
    _dockerish "$@"
    local -a names
    names=(${{(f)"$({NAMES})"}})
    (( CURRENT > 2 )) && compadd -a names
}}
compdef _dockerish_with_names dockerish
"#
        ),
        Shell::Fish => format!(
            "\ncomplete -c dockerish -n 'not __fish_use_subcommand' -f -a \"({})\"\n",
            NAMES
        ),
        other => {
            return Err(Error::invalid(
                "shell",
                other.to_string(),
                "the shells are bash, zsh and fish",
            ))
        }
    };
    tool_cli::run::print_completion::<Cli>(shell, &extra);
    Ok(0)
}
