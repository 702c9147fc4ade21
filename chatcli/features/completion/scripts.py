"""The completion scripts ``chatcli completion SHELL`` prints.

Every shell sends the words typed so far (COMP_WORDS, written as typed: chatcli reads them with
shlex, so a quote still open in the word being completed is closed first) and the index of the
one being completed (COMP_CWORD), and reads back one ``type,value`` line per candidate; type
"file" asks the shell to complete a path itself. A value goes into the command line quoted
for where it lands, so the command gets it as one argument: zsh and fish quote what they
insert; bash's readline does not (for anything but file names), so the bash script quotes
each value itself, for a bare word, an open ``'`` or an open ``"``. Bash's own COMP_WORDS are
cut at ``=`` and ``:``; its script splits the line up to the cursor itself instead.
"""

from __future__ import annotations

from enum import StrEnum

PROG = "chatcli"
COMPLETE_VAR = "_CHATCLI_COMPLETE"

_BASH = r"""# chatcli completion for bash: eval "$(chatcli completion bash)"
%(func)s_split() {
    # $1 read as the shell reads words (quotes, backslashes; not cut at = or :): sets words,
    # quote (the quote left open at the end) and plain (the last word without its quoting)
    local text=$1 c next i n=${#1} word= started=
    words=() quote= plain=
    for (( i = 0; i < n; i++ )); do
        c=${text:i:1}
        if [[ $quote == "'" ]]; then
            word+=$c
            if [[ $c == "'" ]]; then quote=; else plain+=$c; fi
        elif [[ $c == "\\" ]]; then
            (( i + 1 < n )) || break
            next=${text:i+1:1}
            word+=$c$next started=1
            i=$(( i + 1 ))
            if [[ $quote == '"' ]]; then
                case $next in '$'|'`'|'"'|"\\") ;; *) plain+=$c ;; esac
            fi
            plain+=$next
        elif [[ $quote == '"' ]]; then
            word+=$c
            if [[ $c == '"' ]]; then quote=; else plain+=$c; fi
        else
            case $c in
                "'"|'"') quote=$c word+=$c started=1 ;;
                [[:space:]]) [[ $started ]] && words+=("$word"); word= plain= started= ;;
                *) word+=$c plain+=$c started=1 ;;
            esac
        fi
    done
    words+=("$word")
}
%(func)s() {
    local IFS=$'\n' line type value response quote plain head= text
    local -a words lines
    if [[ -v COMP_LINE ]]; then
        text=${COMP_LINE:0:COMP_POINT}
    else  # called by hand with COMP_WORDS and COMP_CWORD only
        text="${COMP_WORDS[*]:0:COMP_CWORD+1}"
    fi
    %(func)s_split "$text"
    local cword=$(( ${#words[@]} - 1 )) open=$quote
    local typed=${words[cword]} rl=${2-${words[cword]}}
    words[cword]+=$open  # closed, so chatcli reads the word as the shell will
    response=$(env COMP_WORDS="${words[*]}" COMP_CWORD="$cword" \
        %(var)s=bash_complete "${1:-%(prog)s}" 2>/dev/null)
    # readline replaces only its own part of the word (after an opening quote, a = or a :):
    # what comes before it stays, and each value is quoted for where it goes
    if [[ $typed == *"$rl" ]]; then
        typed=${typed:0:${#typed}-${#rl}}
        %(func)s_split "${typed%%"$open"}"
        head=$plain
    fi
    [[ $head == -*=* ]] && head=${head#*=}  # --option=VALUE: the values are VALUE's
    mapfile -t lines <<< "$response"
    COMPREPLY=()
    for line in "${lines[@]}"; do
        [[ $line == *,* ]] || continue
        type=${line%%%%,*}
        value=${line#*,}
        if [[ $type == file ]]; then
            compopt -o filenames 2>/dev/null
            mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$value")
            continue
        fi
        [[ $value == "$head"* ]] || continue
        value=${value:${#head}}
        case $open in
            "'") value=${value//\'/\'\\\'\'} ;;
            '"')
                value=${value//\\/\\\\} value=${value//\"/\\\"}
                value=${value//\$/\\\$} value=${value//\`/\\\`}
                [[ $- == *H* ]] && value=${value//!/\"\'!\'\"}
                ;;
            *) printf -v value %%q "$value" ;;
        esac
        COMPREPLY+=("$value")
    done
    return 0
}
complete -o nosort -F %(func)s %(prog)s
"""
_ZSH = r"""#compdef %(prog)s
# chatcli completion for zsh: eval "$(chatcli completion zsh)"
%(func)s() {
    local -a candidates sent
    local line current=${PREFIX-${words[CURRENT]}} quote=${compstate[quote]-}
    # the word being completed as the shell reads it: inside an open quote, PREFIX is the
    # text after the quote, so the quote is put around it again
    [[ $quote == [\'\"] ]] && current=$quote$current$quote
    sent=("${(@)words[1,CURRENT-1]}" "$current")
    # --option=VALUE: the values complete VALUE
    [[ -n ${PREFIX-} && $PREFIX == -*=* ]] && compset -P '-[^=]#='
    for line in "${(@f)$(env COMP_WORDS="${sent[*]}" COMP_CWORD=$((CURRENT - 1)) \
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
    # the word being completed as typed (quotes, backslashes) read as fish reads it
    set -l current (commandline -ct | string unescape)
    set -l words (string escape -- $before $current)
    # --option=VALUE: the values complete VALUE, and fish matches them against the whole word
    set -l option (string match -r -- '^-[^=]*=' "$current")
    env COMP_WORDS="$words" COMP_CWORD=(count $before) %(var)s=fish_complete %(prog)s \
        2>/dev/null | while read -l line
        set -l parts (string split -m 1 , -- $line)
        if test "$parts[1]" = file
            __fish_complete_path $current
        else
            printf '%%s\n' "$option"$parts[2]
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
