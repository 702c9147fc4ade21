"""Slash commands and their Tab completion.

A line starting with ``/`` is a command: the first word names it, the rest is its argument.
Each command is a small function of the ``Repl``; the same table drives ``/help`` and the
completer, so the two cannot disagree. A command that fails raises ``ChatcliError``; the loop
prints it as one line and goes on.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from chatcli.errors import SessionExists, UsageError
from chatcli.pricing import CHAT_MODELS, money
from chatcli.safetext import one_line
from chatcli.store import MessageRow, content_text, images_attached

if TYPE_CHECKING:
    from chatcli.repl.drafts import Draft
    from chatcli.repl.loop import Repl
    from chatcli.store import Content

EXIT = object()
"""What ``/exit`` returns to end the loop."""

SESSIONS_SHOWN = 10


@dataclass(frozen=True)
class Command:
    """One slash command: its argument's name, what it does, and what completes its argument."""

    name: str
    arg: str
    help: str
    run: Callable[[Repl, str], object]
    values: Callable[[Repl], Iterable[str]] | None = None


def _help(repl: Repl, arg: str) -> None:
    """Each command with its argument, then what it does, in a column of its own: as wide
    as the longest command needs, so no argument runs into its description."""
    usages = {name: f"/{cmd.name} {cmd.arg}".rstrip() for name, cmd in COMMANDS.items()}
    width = max(map(len, usages.values()))
    for name, cmd in COMMANDS.items():
        repl.say(f"  {usages[name]:<{width}}  {cmd.help}")
    for line in (
        "Enter sends · Alt+Enter or Ctrl+J: new line · Up/Down: input history",
        "Ctrl+X Ctrl+E: edit in $EDITOR · Ctrl-R: search the history",
        "Ctrl-C: stop a reply · Ctrl-Z: suspend (fg resumes) · Ctrl-D: leave",
        "To send a message that starts with a slash, put a space before it.",
    ):
        repl.say(f"  {line}", dim=True)


def _exit(repl: Repl, arg: str) -> object:
    return EXIT


def _new(repl: Repl, arg: str) -> None:
    repl.session.new()
    repl.attachments = None
    repl.say("new session started (saved with its first reply)", dim=True)
    _new_conversation(repl)


def _new_conversation(repl: Repl) -> None:
    """Another conversation is in the REPL (``/new``, ``/resume``, ``/fork``): tools answered
    "[a]lways" in the last one are asked about again, and the REPL says which."""
    if repl.tools is None:
        return
    forgotten = repl.tools.approval.new_conversation()
    if forgotten:
        names = ", ".join(forgotten)
        repl.say(f"tools approved with [a]lways are asked about again here: {names}", dim=True)


def _clear(repl: Repl, arg: str) -> None:
    output = repl.prompt.output
    output.erase_screen()
    output.cursor_goto(0, 0)
    output.flush()


def _model(repl: Repl, arg: str) -> None:
    if arg:
        repl.session.set_model(repl.ctx.config.resolve_model(arg))
    info = repl.session.info
    window = f"{info.context_window:,} tokens" if info.context_window else "unknown"
    prices = "price unknown"
    if info.input_price is not None and info.output_price is not None:
        cached = info.cached_input_price
        prices = f"{money(info.input_price)} in" + (
            f" ({money(cached)} cached)" if cached is not None else ""
        ) + f", {money(info.output_price)} out per 1M tokens"  # fmt: skip
    repl.say(f"model {repl.session.model} · context window {window} · {prices}")
    notice = unknown_model(repl) if arg else None
    if notice is not None:
        repl.say(notice, dim=True)
    if arg:
        _retiring(repl)


def _retiring(repl: Repl) -> None:
    """The retirement line ``chat -m NAME`` starts with, for the model switched to."""
    from chatcli.retirements import notice
    from chatcli.settings.endpoint_types import endpoint_type

    settings = repl.session.settings
    line = notice(settings.model, own_schedule=endpoint_type(settings.profile).own_retirements)
    if line is not None:
        repl.say(line, dim=True)


def unknown_model(repl: Repl) -> str | None:
    """A notice when the session's model is a name chatcli's model data (the built-in models,
    the price dataset) and the config (``[models]``, aliases, the profile's models) do not
    know, with the nearest known names; None for a known name. The switch stands all the same:
    relays serve names of their own. No request is made: the REPL keeps no model list."""
    import difflib

    name = repl.session.model
    config = repl.ctx.config
    profile = config.profile(repl.session.profile)
    known = {*CHAT_MODELS, *config.aliases.values(), *config.models, profile.model,
             *profile.deployments}  # fmt: skip
    if name in known or repl.session.info.catalog is not None:
        return None
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    nearest = (f"nearest: {', '.join(close)}" if close
               else "`chatcli models` lists the models the endpoint serves")  # fmt: skip
    return f"{name} is not a model chatcli knows (switched all the same); {nearest}"


def _profile(repl: Repl, arg: str) -> None:
    if not arg:
        for name in sorted(repl.ctx.config.profiles):
            mark = "*" if name == repl.session.profile else " "
            repl.say(f"  {mark} {name}")
        return
    from chatcli.settings.resolve import switch_profile

    settings = switch_profile(repl.ctx.config, repl.session.settings, arg)
    repl.session.switch(repl.ctx.connect(settings.profile.name), settings)
    repl.say(f"profile {settings.profile.name} · model {settings.model} (change it with /model)")
    _retiring(repl)


SHOWN_SYSTEM = 2000
"""Characters of the system prompt ``/system`` shows; the rest is counted."""


def _system(repl: Repl, arg: str) -> None:
    if not arg:
        current = repl.session.system
        role = f" (role {repl.session.role})" if repl.session.role else ""
        if current and len(current) > SHOWN_SYSTEM:  # a 100 KB prompt is not read on screen
            more = len(current) - SHOWN_SYSTEM
            current = f"{current[:SHOWN_SYSTEM]}… ({more:,} more characters)"
        repl.say(f"system prompt{role}: {current}" if current else "no system prompt")
        return
    repl.session.set_system(None if arg == "-" else arg)
    repl.say("system prompt removed" if arg == "-" else "system prompt set", dim=True)


def _role(repl: Repl, arg: str) -> None:
    if not arg:
        roles = [f"*{r}" if r == repl.session.role else r for r in sorted(repl.ctx.config.roles)]
        repl.say("roles: " + (", ".join(roles) if roles else "none defined in the config"))
        return
    repl.session.set_system(repl.ctx.config.role(arg), arg)
    repl.say(f"role {arg}: system prompt set", dim=True)


def _undo(repl: Repl, arg: str) -> None:
    from chatcli.repl.drafts import Editing, count, joined

    edit, unanswered = repl.session.failed_edit, repl.session.unanswered
    content = repl.session.step_back()
    if content is None:
        repl.say("nothing to undo")
        return
    draft = _draft(repl, content)
    repl.draft = draft.text
    if edit is not None:  # the conversation is as it was: the edit comes back as an edit
        repl.editing = Editing(edit.number, draft.attachments)
        repl.say(f"your edit of turn {edit.number} is back in the prompt (it had no answer): "
                 "Enter sends it in place of the turn, Ctrl-C cancels", dim=True)  # fmt: skip
        return
    if unanswered is None:
        repl.say("last turn removed; its message is back in the prompt", dim=True)
    else:
        repl.say("your message is back in the prompt (it had no answer)", dim=True)
    if draft.attachments is not None:
        repl.attachments = joined(draft.attachments, repl.attachments)
        repl.say(f"{count(draft.attachments)} attached file(s) go with it again "
                 "(Ctrl-C drops them)", dim=True)  # fmt: skip


def _draft(repl: Repl, content: Content) -> Draft:
    """A message back in the prompt: as typed, with its files, when it was sent from here;
    else from what is stored (its images attached again, a template's prompt taken off)."""
    from chatcli.repl.drafts import Draft, draft_of

    typed = repl.typed
    if typed is not None and typed.content is content:
        return Draft(typed.text, typed.attachments)
    return draft_of(content, repl.template)


def _retry(repl: Repl, arg: str) -> None:
    from chatcli.repl import structured

    content = structured.retried(repl)
    schema = structured.again(repl, content)
    if schema is None or content is None:
        repl.stream(lambda tools: repl.session.retry(tools=tools))
        return
    structured.send(repl, content, schema, lambda _c, fmt: repl.session.retry(response_format=fmt))


def _tools(repl: Repl, arg: str) -> None:
    from chatcli.repl import tools

    tools.run(repl, arg)


def _tool_values(repl: Repl) -> Iterable[str]:
    from chatcli.repl import tools

    return tools.values(repl)


def _turn_number(arg: str, usage: str) -> int:
    try:
        number = int(arg)
    except ValueError:
        raise UsageError(f"usage: {usage}", hint="/history numbers the turns") from None
    if number < 1:
        raise UsageError(f"usage: {usage}", hint="/history numbers the turns")
    return number


def _history(repl: Repl, arg: str) -> None:
    """The current branch's turns, numbered, with how many answers and versions each has."""
    turns = repl.session.turns()  # the branch, read once: each turn's marks come from
    if not turns:  # one query below, never a reload per turn (quadratic on long sessions)
        repl.say("no turns yet")
        return
    from chatcli.terminal import shorten

    store, row = repl.session.store, repl.session.row
    fan_out = store.fan_out(row.id) if store is not None and row is not None else {}
    columns = max(20, shutil.get_terminal_size().columns - 1)
    for number, messages in turns:
        user = messages[0]
        replies = [m for m in messages[1:] if m.role == "assistant"]
        # the turn's answer: its last reply with words (a tool round's first only calls)
        answer = next((m for m in reversed(replies) if content_text(m.content).strip()),
                      replies[-1] if replies else None)  # fmt: skip
        images = images_attached(user.content)  # as `sessions show` notes them
        marks = [images] if images else []
        on_user = user.role == "user"  # as ``Session.answers``/``versions`` count them
        answers = fan_out.get(user.id, (0, 0))[0] if on_user else 0
        if answers > 1:
            marks.append(f"{answers} answers")
        versions = fan_out.get(user.parent_id, (0, 0))[1] if on_user else 0
        if versions > 1:
            marks.append(f"{versions} versions")
        if answer is not None and answer.interrupted:
            marks.append("interrupted")
        if len(messages) == 1 and user.role == "user":  # kept for /retry
            marks.append("no answer")
        mark = f" [{', '.join(marks)}]" if marks else ""
        text = one_line(content_text(user.content), 500)
        head = f"  {number:>3} you › "
        repl.say(f"{head}{shorten(text, max(1, columns - len(head) - len(mark)))}{mark}")
        if answer is not None:
            reply = _said(answer)
            repl.say(f"      ai  › {shorten(reply, max(1, columns - 12))}", dim=True)


def _said(message: MessageRow) -> str:
    """What a stored reply says on one line: its text, or the tools it called when it only
    called tools (``/history``, ``/answers``, as the resume preview shows it)."""
    text = one_line(content_text(message.content), 500)
    if not text.strip() and message.tool_calls:
        return "calls " + ", ".join(str(c.get("name")) for c in message.tool_calls)
    return text


def _edit(repl: Repl, arg: str) -> None:
    from chatcli.repl.drafts import Editing, count, draft_of

    number = _turn_number(arg, "/edit N")
    draft = draft_of(repl.session.turn_content(number), repl.template)
    repl.draft = draft.text
    repl.editing = Editing(number, draft.attachments)
    files = count(draft.attachments)
    going = f"; its {files} attached file(s) go with it" if files else ""
    repl.say(
        f"turn {number} is in the prompt: change it and press Enter (the turns after it are "
        f"kept as another branch{going}); Ctrl-C cancels",
        dim=True,
    )


def _regenerate(repl: Repl, arg: str) -> None:
    turns = repl.session.turns()
    number = _turn_number(arg, "/regenerate [N]") if arg else (turns[-1][0] if turns else 0)
    if not number:
        raise UsageError("nothing to regenerate yet")
    from chatcli.repl import structured

    content = repl.session.turn_content(number)
    schema = structured.again(repl, content)
    if schema is None:
        repl.stream(lambda tools: repl.session.regenerate(number, tools=tools))
        return
    structured.send(
        repl, content, schema, lambda _c, fmt: repl.session.regenerate(number, response_format=fmt)
    )


def _answers(repl: Repl, arg: str) -> None:
    turns = repl.session.turns()
    number = _turn_number(arg, "/answers N") if arg else (turns[-1][0] if turns else 0)
    if not number:
        raise UsageError("no answers yet")
    current = repl.session.current_answer(number)
    for k, answer in enumerate(repl.session.answers(number), 1):
        mark = "*" if answer.id == current else " "
        when = answer.created_at.astimezone().strftime("%H:%M")
        text = _said(answer)
        repl.say(f"  {mark} {k}  {when} {answer.model or ''} › {text[:200]}")
    repl.say(f"/pick {number} K goes on from answer K", dim=True)
    _versions(repl, number)


def _versions(repl: Repl, number: int) -> None:
    """The versions of turn ``number``'s message (``/edit`` makes one), when it has several."""
    versions = repl.session.versions(number)
    if len(versions) < 2:
        return
    current = repl.session.current_version(number)
    repl.say(f"turn {number}'s message has {len(versions)} versions:")
    for k, version in enumerate(versions, 1):
        mark = "*" if version.id == current else " "
        when = version.created_at.astimezone().strftime("%H:%M")
        text = one_line(content_text(version.content), 500)
        waits = "" if repl.session.answers_to(version) else " [no answer]"
        repl.say(f"  {mark} v{k}  {when} › {text[:200]}{waits}")
    repl.say(f"/pick {number} vK goes on from version K (and the turns that followed it)",
             dim=True)  # fmt: skip


PICK = "/pick N K (answer K) or /pick N vK (version K)"


def _pick(repl: Repl, arg: str) -> None:
    number_arg, _, which = arg.partition(" ")
    which = which.strip()
    number = _turn_number(number_arg, PICK)
    if which[:1] in ("v", "V"):
        k = _turn_number(which[1:], PICK)
        chosen = repl.session.pick_version(number, k)
        repl.say(f"going on from version {k} of turn {number}", dim=True)
    else:
        k = _turn_number(which, PICK)
        chosen = repl.session.pick(number, k)
        repl.say(f"going on from answer {k} of turn {number}", dim=True)
    repl.say(one_line(content_text(chosen.content), 10_000)[:500], dim=True)
    if repl.session.unanswered is not None:
        repl.say("that message has no answer yet: /retry sends it", dim=True)


def _fork(repl: Repl, arg: str) -> None:
    old = repl.session.name
    try:
        row = repl.session.fork(arg or None)
    except SessionExists as exc:
        raise _taken(exc) from None
    repl.say(f"forked {old} into {row.name}; you are in {row.name} now", dim=True)
    _new_conversation(repl)
    if repl.session.unanswered is not None:
        repl.say("the message awaiting an answer came along: /retry sends it", dim=True)


def _taken(exc: SessionExists) -> SessionExists:
    """Another session's name: the hint of the REPL, not --session."""
    return SessionExists(exc.message, hint="pick another name; /resume NAME goes to that session")


def _file(repl: Repl, arg: str) -> None:
    """A file, or an http(s) URL fetched as ``ask -f URL`` fetches it (the profile's proxy)."""
    from chatcli.inputs import MAX_INPUT_BYTES, UserInput, add_bytes, fetch_url, url_of
    from chatcli.reading import read_file

    if not arg:
        raise UsageError("usage: /file PATH")
    url = url_of(arg.strip())
    content_type = None
    if url is not None:
        data, content_type = fetch_url(url, repl.session.settings.profile)
        source = name = url
    else:
        path = _pasted_path(arg)
        # bounded as it reads: a size can lie (/dev/zero, a FIFO, /proc files say 0)
        data = read_file(path, MAX_INPUT_BYTES)
        source, name = f"file {path}", path.name
    if repl.attachments is None:
        repl.attachments = UserInput()
    add_bytes(repl.attachments, data, source, label=name, content_type=content_type)
    count = len(repl.attachments.texts) + len(repl.attachments.images)
    repl.say(f"attached {name} ({count} file(s) go with your next message; Ctrl-C at "
             "the prompt drops them)", dim=True)  # fmt: skip


def _pasted_path(arg: str) -> Path:
    """The file ``arg`` names, as typed or as a terminal pastes a file dropped on it: quoted
    (``'/p/my file.txt'``), with escaped spaces (``/p/my\\ file.txt``) or as a ``file://`` URI.
    The text as typed wins when such a file exists."""
    import shlex
    from urllib.parse import unquote, urlsplit

    from chatcli.settings.paths import exists, expand

    typed = expand(arg)
    if exists(typed):
        return typed
    if arg.startswith("file://"):
        return Path(unquote(urlsplit(arg).path))
    try:
        words = shlex.split(arg)
    except ValueError:  # an unclosed quote: not a pasted path
        return typed
    return expand(words[0]) if len(words) == 1 else typed


def _save(repl: Repl, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /save NAME")
    if repl.session.row is not None and repl.session.row.name == arg:
        repl.say(f"this session is already called {arg!r}")
        return
    try:
        row = repl.session.save(arg)
    except SessionExists as exc:
        raise _taken(exc) from None
    repl.say(f"session saved as {row.name}", dim=True)


def _sessions(repl: Repl, arg: str) -> None:
    rows = repl.ctx.store.list_sessions(arg or None, limit=SESSIONS_SHOWN)
    if not rows:
        repl.say("no saved sessions" + (f" matching {arg!r}" if arg else ""))
    current = repl.session.row.id if repl.session.row is not None else None
    from rich.cells import cell_len

    from chatcli.features.sessions.views import listed_title

    width = repl.prompt.output.get_size().columns  # titles cut as `sessions list` cuts them
    for row in rows:
        mark = "*" if row.id == current else " "
        when = row.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
        line = f"  {mark} {row.name}  {when} · {row.message_count} messages"
        title = f" · {listed_title(row.title, cell_len(line) + 3, width)}" if row.title else ""
        repl.say(line + title)
    if len(rows) == SESSIONS_SHOWN:
        more = repl.ctx.store.count_sessions(arg or None) - len(rows)
        if more > 0:
            repl.say(f"… and {more} more; /sessions TEXT narrows the list, "
                     "`chatcli sessions list -n N` shows more", dim=True)  # fmt: skip


def _resume(repl: Repl, arg: str) -> None:
    """Switch to a stored session, on its own profile and model."""
    from chatcli.features.conversation import open_conversation
    from chatcli.settings.resolve import ChatFlags, Invocation

    if not arg:
        raise UsageError("usage: /resume NAME", hint="/sessions lists them")
    if repl.ctx.store.get_session(arg) is None:
        raise UsageError(f"no session named {arg!r}", hint="/sessions lists them")
    old = repl.session
    flags = ChatFlags(temperature=old.temperature, max_tokens=old.max_tokens, session=arg)
    opened = open_conversation(
        Invocation(repl.ctx.config, debug=repl.ctx.debug),
        flags,
        repl.ctx.store,
        command="chat",
        connect=lambda profile: repl.ctx.connect(profile.name),
    )
    repl.session = opened.session
    repl.attachments = None
    for note in opened.notes:
        repl.say(note, dim=True)
    repl.say(f"{opened.session.model} via {opened.session.profile}", dim=True)
    _new_conversation(repl)
    repl.summary()


def _budget(repl: Repl, arg: str) -> None:
    """Show spending against the budgets; ``continue`` lets this session go past them."""
    from chatcli.features.usage import budget

    if arg not in ("", "continue"):
        raise UsageError(f"unknown /budget argument {arg!r}", hint="/budget or /budget continue")
    profile = repl.ctx.config.profile(repl.session.profile)
    spent = budget.spending(repl.ctx.store, profile, repl.ctx.config.model_info)
    if not spent:
        repl.say("no budget set (daily_budget_usd / monthly_budget_usd in the config)")
    for s in spent:
        repl.say(f"{s.figure()}: {s.percent()} spent")
    if arg == "continue":
        repl.ctx.over_budget = True
        repl.say("budgets no longer stop this session (they still warn)")
    elif repl.ctx.over_budget:
        repl.say("this session goes on past spent budgets")
    elif any(s.share >= 1 for s in spent):
        repl.say("/budget continue to go on for the rest of this session")


def _tokens(repl: Repl, arg: str) -> None:
    used, window = repl.session.context_tokens()
    if window is None:
        repl.say(f"context: {used:,} tokens (context window of {repl.session.model} unknown)")
    else:
        repl.say(f"context: {used:,} of {window:,} tokens ({used / window:.0%})")


def _cost(repl: Repl, arg: str) -> None:
    known, unknown = repl.session.total_cost()
    if repl.session.last_turn is None and not repl.session.history:
        repl.say("session cost: nothing spent yet")
    elif unknown and known == 0:
        repl.say("session cost: unknown (no price known for the model)")
    elif unknown:
        repl.say(f"session cost: {money(known)} plus replies of unknown price")
    else:
        repl.say(f"session cost: {money(known)}")


def _copy(repl: Repl, arg: str) -> None:
    turn = repl.session.last_turn
    text = turn.text if turn is not None else None
    if text is None:
        replies = [m for m in repl.session.history if m.role == "assistant"]
        text = content_text(replies[-1].content) if replies else None
    if not text:
        raise UsageError("no reply to copy yet")
    from chatcli.clipboard import copy_to_clipboard

    done = copy_to_clipboard(text, repl.stdout)
    if not (done.copied or done.sent):
        raise UsageError(
            "no way to reach the clipboard: not a terminal, and no pbcopy, wl-copy or xclip"
        )
    repl.say(done.summary(len(text)), dim=True)


def _model_names(repl: Repl) -> Iterable[str]:
    config = repl.ctx.config
    return sorted({*CHAT_MODELS, *config.aliases, *config.models})


def _session_names(repl: Repl) -> Iterable[str]:
    return [row.name for row in repl.ctx.store.list_sessions(limit=50)]


def _profile_names(repl: Repl) -> list[str]:
    return sorted(repl.ctx.config.profiles)


def _schema(repl: Repl, arg: str) -> None:
    from chatcli.repl.structured import command

    command(repl, arg)


def _role_names(repl: Repl) -> list[str]:
    return sorted(repl.ctx.config.roles)


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("help", "", "this list", _help),
        Command("exit", "", "leave (or Ctrl-D)", _exit),
        Command("new", "", "start a new session", _new),
        Command("clear", "", "clear the screen (the conversation goes on)", _clear),
        Command("model", "NAME", "switch model (no NAME: show it)", _model, _model_names),
        Command(
            "profile",
            "NAME",
            "switch endpoint profile (no NAME: list them)",
            _profile,
            _profile_names,
        ),
        Command("system", "TEXT", "set the system prompt (- removes it)", _system),
        Command(
            "role",
            "NAME",
            "use a role's system prompt (no NAME: list them)",
            _role,
            _role_names,
        ),
        Command("undo", "", "forget the last turn; its message returns to the prompt", _undo),
        Command("retry", "", "ask the last message again (the one that got no answer)", _retry),
        Command("history", "", "the turns of this conversation, numbered", _history),
        Command("edit", "N", "put turn N back in the prompt; sending it replaces it", _edit),
        Command("regenerate", "[N]", "ask turn N (default: the last) again", _regenerate),
        Command("answers", "N", "the answers (and versions) turn N has had", _answers),
        Command("pick", "N K", "go on from answer K (vK: version K) of turn N", _pick),
        Command("fork", "[NAME]", "copy this conversation into a new session", _fork),
        Command(
            "file",
            "PATH",
            "attach a text file, document, image or http(s) URL to the next message",
            _file,
        ),
        Command("save", "NAME", "keep this session under NAME", _save),
        Command("sessions", "[TEXT]", "list recent sessions (TEXT searches them)", _sessions),
        Command("resume", "NAME", "switch to a saved session", _resume, _session_names),
        Command("tokens", "", "context used by the next request / window", _tokens),
        Command("cost", "", "what this session has cost", _cost),
        Command(
            "budget",
            "[continue]",
            "spending against the budgets; continue: go past them in this session",
            _budget,
            lambda _repl: ["continue"],
        ),
        Command("copy", "", "copy the last reply to the clipboard", _copy),
        Command("tools", "on|off NAME", "MCP tools the model may call", _tools, _tool_values),
        Command(
            "schema",
            "SPEC",
            "the next reply is JSON valid against SPEC (off: cancel)",
            _schema,
            lambda _repl: ["off", "multi"],
        ),
    )
}


def run_command(repl: Repl, line: str) -> object:
    """Run one slash command line; an unknown command is a usage error, and a line that is more
    than its one word goes back into the prompt."""
    name, _, arg = line[1:].strip().partition(" ")
    command = COMMANDS.get(name)
    if command is None:
        hint = "/help lists the commands; a space first sends a message starting with /"
        word = (name.split() or [""])[0]  # "/foo\nbar": a line of its own is not the name
        if word != name or arg.strip() or "/" in word:  # pasted code, a path, a message
            repl.draft = line  # not lost (a bare word is a typo, as quickly typed again)
            hint += " (your text is back in the prompt)"
        raise UsageError(f"unknown command /{word}", hint=hint)
    arg = arg.strip()
    usage = f"/{name} {command.arg}".rstrip()
    if arg and not command.arg:  # "/exit now": a typo, not a wish to be ignored
        raise UsageError(f"/{name} takes no argument", hint=f"usage: {usage}")
    if command.arg.strip("[]") in ONE_WORD and len(arg.split()) > 1:
        raise UsageError(f"/{name} takes one {command.arg.strip('[]')}", hint=f"usage: {usage}")
    return command.run(repl, arg)


ONE_WORD = ("NAME", "N")
"""Arguments that are one word: a model, session or role name, a turn number (``/model gpt-4o
extra`` would otherwise name a model with spaces, ``/save a b`` a session)."""


class SlashCompleter(Completer):
    """Completes command names after ``/`` and each command's argument after the space."""

    def __init__(self, repl: Repl) -> None:
        self.repl = repl
        self._paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        name, space, arg = text[1:].partition(" ")
        if not space:
            for cmd in COMMANDS.values():
                if cmd.name.startswith(name):
                    needs = cmd.arg and not cmd.arg.startswith("[")  # "[N]": Enter runs it
                    yield Completion(
                        f"/{cmd.name} " if needs else f"/{cmd.name}",
                        start_position=-len(text),
                        display=f"/{cmd.name}",
                        display_meta=cmd.help,
                    )
            return
        if name == "file":
            typed = arg.lstrip()
            for completion in self._paths.get_completions(Document(typed), complete_event):
                # a folder ends in "/", as shells complete it, so the next Tab goes inside
                whole = os.path.expanduser(typed[: len(typed) + completion.start_position])
                if os.path.isdir(whole + completion.text) and not completion.text.endswith("/"):
                    completion = Completion(completion.text + "/", completion.start_position,
                                            display=completion.display)  # fmt: skip
                yield completion
            return
        command = COMMANDS.get(name)
        if command is None or command.values is None:
            return
        prefix = arg.lstrip()
        for value in command.values(self.repl):
            if value.startswith(prefix):
                yield Completion(value, start_position=-len(prefix))
