"""The snippets of ``chatcli shell-integration bash|zsh|fish``: a key that turns the text on the
command line into a command, in place, without running it.

Each snippet defines a function bound to the key in the shell's line editor (emacs and vi
insert modes). It sends the whole line (the cursor may be anywhere in it) to ``chatcli cmd``
with stdin from /dev/null and stdout captured, which is ``cmd``'s unattended mode: the command
alone on stdout, never executed. On success the line is replaced and the cursor put at its
end, so the user reads it and presses Enter; on an error the line is left as it was and the
error shown under it (bash clears the line before the function runs and redraws it where the
cursor is left, so its snippet writes the line back before the error). "thinking…" is shown
while waiting. ``CHATCLI_SHELL_INTEGRATION=1`` tells ``cmd`` to drop the keys typed during the
wait (an Enter would otherwise run the suggestion unread); Ctrl-C cancels only the request (a
trap, or a fish SIGINT handler), so the typed line stays.
"""

from __future__ import annotations

import re
import shlex

from chatcli.errors import UsageError
from chatcli.features.shell.names import IntegratedShell

SHELLS = tuple(IntegratedShell)
DEFAULT_KEY = "alt-e"
_RESERVED_CTRL = set("cdhijmqsz")  # interrupt, EOF, backspace, tab, newline, Enter, flow, suspend


def key_codes(key: str) -> dict[str, str]:
    """How bash, zsh and fish write ``key`` (``alt-e``, ``ctrl-g``, ``M-e``, ``C-g``)."""
    match = re.fullmatch(r"(alt|meta|m|ctrl|control|c)[-+]([a-z0-9])", key.strip().lower())
    if match is None:
        raise UsageError(
            f"cannot bind {key!r}: write the key as alt-LETTER or ctrl-LETTER",
            hint="for example --key alt-e (the default) or --key ctrl-g",
        )
    modifier, char = match.groups()
    if modifier in ("alt", "meta", "m"):
        return {"bash": f"\\e{char}", "zsh": f"^[{char}", "fish": f"\\e{char}"}
    if not char.isalpha() or char in _RESERVED_CTRL:
        raise UsageError(
            f"ctrl-{char} cannot be bound: the terminal or the shell needs it",
            hint="pick another letter, or an alt- key",
        )
    return {"bash": f"\\C-{char}", "zsh": f"^{char.upper()}", "fish": f"\\c{char}"}


def snippet(shell: str, key: str, program: list[str]) -> str:
    """The snippet for ``shell`` binding ``key`` and running ``program`` (``chatcli`` and the
    global options to pass on)."""
    if shell not in SHELLS:
        raise UsageError(f"no shell integration for {shell!r}", hint="use bash, zsh or fish")
    code = key_codes(key)[shell]
    command = shlex.join(program) if shell != "fish" else " ".join(_fish_quote(w) for w in program)
    return _TEMPLATES[shell].format(key=key, code=code, program=command)


def _fish_quote(word: str) -> str:
    if re.fullmatch(r"[\w@%+=:,./-]+", word):
        return word
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


_BASH = r"""# chatcli for bash: {key} turns the text on the command line into a command (not run).
# Install: add this line to ~/.bashrc
#   eval "$(chatcli shell-integration bash)"
__chatcli_cmd() {{
    local line=$READLINE_LINE out code err prompt= int
    [[ $line == *[![:space:]]* ]] || return 0
    err=$(mktemp 2>/dev/null) || err=/dev/stderr
    int=$(trap -p INT)
    trap : INT  # Ctrl-C cancels the request, not the line
    printf '\e[2mthinking…\e[0m\r' >&2
    out=$(CHATCLI_SHELL_INTEGRATION=1 {program} cmd --shell bash -- "$line" </dev/null 2>"$err")
    code=$?
    eval "${{int:-trap - INT}}"
    printf '\e[K' >&2
    if [[ $code -eq 0 && -n $out ]]; then
        READLINE_LINE=$out
        READLINE_POINT=${{#out}}
    fi
    if [[ -s $err ]]; then
        # bash cleared the line and redraws it where the cursor is left: write it back
        # first, so what chatcli said comes under it
        if (( BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 404 )); then
            prompt=${{PS1@P}}
            prompt=${{prompt##*$'\n'}}
            prompt=${{prompt//[$'\001\002']/}}
        fi
        printf '%s%s\n' "$prompt" "$line" >&2
        cat -- "$err" >&2
    fi
    [[ $err == /dev/stderr ]] || rm -f -- "$err"
    return 0
}}
if [[ $- == *i* ]]; then
    bind -m emacs -x '"{code}": __chatcli_cmd'
    bind -m vi-insert -x '"{code}": __chatcli_cmd'
fi
"""

_ZSH = r"""# chatcli for zsh: {key} turns the text on the command line into a command (not run).
# Install: add this line to ~/.zshrc
#   eval "$(chatcli shell-integration zsh)"
__chatcli_cmd() {{
    emulate -L zsh
    local line=$BUFFER out err
    local -i code
    [[ $line == *[^[:space:]]* ]] || return 0
    err=$(mktemp 2>/dev/null) || err=/dev/null
    trap : INT  # Ctrl-C cancels the request, not the line (the trap is local: emulate -L)
    zle -R "thinking…"
    out=$(CHATCLI_SHELL_INTEGRATION=1 {program} cmd --shell zsh -- "$line" </dev/null 2>"$err")
    code=$?
    if (( code == 0 )) && [[ -n $out ]]; then
        BUFFER=$out
        CURSOR=${{#BUFFER}}
    fi
    if [[ -s $err ]]; then
        zle -M "$(<$err)"
    else
        zle -R
    fi
    [[ $err == /dev/null ]] || rm -f -- "$err"
    return 0
}}
zle -N __chatcli_cmd
bindkey -M emacs '{code}' __chatcli_cmd
bindkey -M viins '{code}' __chatcli_cmd
"""

_FISH = r"""# chatcli for fish: {key} turns the text on the command line into a command (not run).
# Install: add this line to ~/.config/fish/config.fish
#   chatcli shell-integration fish | source
function __chatcli_cmd
    set -l line (commandline | string collect)
    string match -qr '\S' -- "$line"; or return 0
    set -l err (mktemp 2>/dev/null); or set err /dev/null
    set -l after (string sub -s (math (commandline -C) + 1) -- "$line" | string length --visible)
    test "$after" -gt 0 2>/dev/null; and printf '\e[%dC' $after >&2  # to the end of the text
    printf '\e7\e[2m thinking…\e[0m' >&2  # saves the cursor, to erase only "thinking…"
    # a SIGINT handler keeps fish from cancelling this function on Ctrl-C: the request is
    # cancelled, the line stays and "thinking…" is erased
    function __chatcli_cmd_interrupted --on-signal SIGINT
        functions -e __chatcli_cmd_interrupted
        printf '\e8\e[K' >&2
        commandline -f repaint
    end
    set -l out (CHATCLI_SHELL_INTEGRATION=1 {program} cmd --shell fish -- "$line" </dev/null 2>$err)
    set -l code $status
    functions -e __chatcli_cmd_interrupted
    set out (string join \n -- $out | string collect)
    printf '\e8\e[K' >&2
    if test "$code" = 0; and test -n "$out"
        commandline -r -- "$out"
        commandline -C (string length -- "$out")
    end
    if test -s "$err"  # under the line; fish redraws the prompt under what was said
        printf '\n' >&2
        cat -- $err >&2
    end
    test "$err" = /dev/null; or rm -f -- $err
    commandline -f repaint
end
bind {code} __chatcli_cmd
bind -M insert {code} __chatcli_cmd
"""

_TEMPLATES = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}
