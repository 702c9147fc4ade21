"""The completion scripts ``chatcli completion SHELL`` prints.

Every shell sends the words typed so far (COMP_WORDS) and the index of the one being completed
(COMP_CWORD), and reads back one ``type,value`` line per candidate; type "file" asks the shell
to complete a path itself.
"""

from __future__ import annotations

from enum import StrEnum

PROG = "chatcli"
COMPLETE_VAR = "_CHATCLI_COMPLETE"

_BASH = r"""# chatcli completion for bash: eval "$(chatcli completion bash)"
%(func)s() {
    local IFS=$'\n' line type value
    local response
    response=$(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD="$COMP_CWORD" \
        %(var)s=bash_complete "${1:-%(prog)s}" 2>/dev/null)
    COMPREPLY=()
    for line in $response; do
        type=${line%%%%,*}
        value=${line#*,}
        if [[ $type == file ]]; then
            compopt -o filenames 2>/dev/null
            COMPREPLY+=($(compgen -f -- "$value"))
        else
            COMPREPLY+=("$value")
        fi
    done
    return 0
}
complete -o nosort -F %(func)s %(prog)s
"""
_ZSH = r"""#compdef %(prog)s
# chatcli completion for zsh: eval "$(chatcli completion zsh)"
%(func)s() {
    local -a candidates
    local line
    for line in "${(@f)$(env COMP_WORDS="${words[*]}" COMP_CWORD=$((CURRENT - 1)) \
            %(var)s=zsh_complete %(prog)s 2>/dev/null)}"; do
        [[ -z $line ]] && continue
        if [[ ${line%%%%,*} == file ]]; then
            _files
            return
        fi
        candidates+=("${line#*,}")
    done
    (( ${#candidates} )) && compadd -V unsorted -a candidates
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    %(func)s "$@"
else
    compdef %(func)s %(prog)s
fi
"""
_FISH = r"""# chatcli completion for fish: chatcli completion fish | source
function %(func)s
    set -l before (commandline -opc)
    set -l words (string escape -- $before (commandline -ct))
    env COMP_WORDS="$words" COMP_CWORD=(count $before) %(var)s=fish_complete %(prog)s \
        2>/dev/null | while read -l line
        set -l parts (string split -m 1 , -- $line)
        if test "$parts[1]" = file
            __fish_complete_path (commandline -ct)
        else
            echo $parts[2]
        end
    end
end
complete -c %(prog)s -f -a '(%(func)s)'
"""


class CompletionShell(StrEnum):
    """The shells there is a completion script for (``completion SHELL``'s choices)."""

    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"


SCRIPTS: dict[str, str] = {
    CompletionShell.BASH: _BASH,
    CompletionShell.ZSH: _ZSH,
    CompletionShell.FISH: _FISH,
}


def script(shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh or fish)."""
    return SCRIPTS[shell] % {"func": f"_{PROG}_completion", "var": COMPLETE_VAR, "prog": PROG}
