"""What ``chatcli cmd`` tells the model: the system prompts and the revise/describe requests.

The generating prompt demands the command alone, for the user's shell and OS; a role (``-r``)
or ``-s`` replaces it, with ``{shell}`` and ``{os}`` filled in where they appear. Describe
uses its own prompt for that one request, and the stored conversation is left with a
follow-up prompt, so ``chatcli ask -c "why -print0?"`` is answered in prose, not with a command.
"""

from __future__ import annotations

from chatcli.features.shell.detect import Shell

COMMAND_PROMPT = """\
You turn a description into one command for {shell} on {os}.
Reply with the command only: no explanation, no Markdown, no code fences, no leading "$".
If several steps are needed, join them into one command line ({joiner}) or, when that would \
be unreadable, a short script of several lines.
If details are missing, choose the most common, safe interpretation.
Never add commands the user did not ask for."""

DESCRIBE_PROMPT = """\
You explain {shell} commands on {os} to someone about to run one. Be brief: one line on what \
the whole command does, then a short list with one line per part (each program, option, pipe \
and redirection). Say plainly if it deletes, overwrites or changes anything, or needs root."""

FOLLOW_UP_PROMPT = """\
You helped the user write a {shell} command for {os}. Answer their follow-up questions about \
it clearly and concisely."""


def fill(template: str, shell: Shell) -> str:
    """``template`` with ``{shell}``, ``{os}`` and ``{joiner}`` filled in (other braces are
    left alone: a role's text may hold any)."""
    joiner = "`; and` / `; or`" if shell.name == "fish" else "`&&`, pipes"
    return (
        template.replace("{shell}", shell.name)
        .replace("{os}", shell.os)
        .replace("{joiner}", joiner)
    )


def revise_request(command: str, change: str) -> str:
    """The user message asking to change ``command`` (the current one: edited or not)."""
    return (
        f"Change this command:\n{command}\n\nWhat to change: {change}\n\n"
        "Reply with the whole revised command only."
    )


def describe_request(command: str) -> str:
    """The user message asking for an explanation of ``command``."""
    return f"Explain this command:\n{command}"
