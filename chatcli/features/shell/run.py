"""What ``chatcli cmd`` does once its options are parsed: ask for a command, then the menu on a
terminal, or the command alone on stdout off one.

Off a terminal (``$(chatcli cmd ...)``, the shell integration, scripts) nothing is ever run
unless ``--execute --yes`` says so, and a destructive-looking command also needs
``--yes-destructive``; the reasons it looks destructive are warnings on stderr either way.
The provider is connected through the budgets (``usage.budget.connect``), so each request
the menu makes (revise, describe) is judged before it is sent, not only the first.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, ConfigError, UsageError
from chatcli.output import Notifier, notifier_for, out
from chatcli.safetext import one_line, sanitize, visible
from chatcli.settings.resolve import ChatFlags, Invocation

if TYPE_CHECKING:
    from chatcli.features.shell.clean import Cleaned
    from chatcli.features.shell.detect import Shell
    from chatcli.features.shell.exchange import Exchange
    from chatcli.features.shell.menu import Tty
    from chatcli.providers.base import Provider
    from chatcli.settings.loading import Profile
    from chatcli.store import Content


@dataclass(frozen=True)
class CmdInput:
    """The options of ``cmd`` besides the conversation's settings."""

    description: list[str]
    shell: str | None = None
    execute: bool = False
    yes: bool = False
    yes_destructive: bool = False
    over_budget: bool = False


INTEGRATION = "CHATCLI_SHELL_INTEGRATION"
"""Set (to 1) by the ``shell-integration`` snippets on the ``cmd`` they run for the key."""


class NotACommand(ChatcliError):
    """The model answered, but not with a command (a refusal, a question back)."""


def check_options(what: CmdInput) -> None:
    """``--execute`` only with ``--yes``; ``--yes`` and ``--yes-destructive`` only with it."""
    if what.execute and not what.yes:
        raise UsageError(
            "--execute runs the command without showing it first, so it needs --yes too",
            hint="chatcli cmd --execute --yes DESCRIPTION",
        )
    if (what.yes or what.yes_destructive) and not what.execute:
        flag = "--yes" if what.yes else "--yes-destructive"
        raise UsageError(f"{flag} only goes with --execute")


def run(environment: Environment, invoked: Invocation, flags: ChatFlags, what: CmdInput) -> int:
    """Run one ``cmd``; the exit code (the executed command's, when one ran)."""
    from chatcli.features.conversation import open_conversation
    from chatcli.features.shell.exchange import Exchange
    from chatcli.features.usage import budget
    from chatcli.settings.keys import check_found
    from chatcli.store import open_default

    check_options(what)
    if not (flags.cont or flags.session):  # a first run without a key leaves nothing behind
        check_found(invoked.config.profile(invoked.profile, named_by=invoked.named_by))
    env = environment
    notifier = notifier_for(env)
    with _typed_ahead_dropped(), open_default() as store:

        def connect(profile: Profile) -> Provider:
            # every request (generate, revise, describe, a retry) passes the budgets first,
            # on a fresh reading: a key pressed right after a reply must see what it cost
            return budget.connect(profile, invoked.config.model_info, clock=env.clock,
                                  debug=invoked.debug, store=store, warn=notifier.note,
                                  over_budget=what.over_budget, refresh=0)  # fmt: skip

        opened = open_conversation(
            invoked, flags, store, command="cmd", one_shot=True, connect=connect
        )
        profile = opened.settings.profile
        shell = _shell(what.shell, profile.shell)
        description = _description(env, what.description, profile)
        for note in opened.notes:
            notifier.note(note)
        settings = opened.settings
        budget.check(store, profile, over_budget=what.over_budget, warn=notifier.note,
                     model=settings.model, model_info=settings.model_info)  # fmt: skip
        custom = flags.system is not None or flags.role is not None
        exchange = Exchange(opened.session, shell, notifier, custom=custom)
        try:
            tty = None if what.execute else _terminal(env)
            if tty is None:
                return _unattended(env, exchange, description, what, profile, notifier)
            try:
                return _menu(tty, exchange, description, opened.settings.markdown, profile)
            finally:
                tty.close()
        finally:
            exchange.close()


@contextlib.contextmanager
def _typed_ahead_dropped() -> Iterator[None]:
    """For the shell integration: when ``cmd`` ends (a suggestion, an error, Ctrl-C), drop the
    keys typed on the terminal while it waited. The shell would read them against the new
    line: an Enter would run a command nobody has read, a second key press would send the
    suggestion back as a description. The menu drops them the same way."""
    try:
        yield
    finally:
        if os.environ.get(INTEGRATION):
            discard_typed_ahead()


def discard_typed_ahead() -> None:
    """Flush /dev/tty's pending input, only from the terminal's foreground process group
    (from the background a flush would stop the process, SIGTTOU)."""
    try:
        import termios
    except ImportError:  # not a POSIX terminal
        return
    from chatcli.terminal import in_background

    with contextlib.suppress(OSError, termios.error), open("/dev/tty", encoding="utf-8") as tty:
        if not in_background(tty):
            termios.tcflush(tty.fileno(), termios.TCIFLUSH)


def _terminal(env: Environment) -> Tty | None:
    """The terminal for the menu; None off one (then the menu is not even imported), and
    from a background job (``chatcli cmd ... &``: reading keys there would stop it until
    ``fg``), which is then served as off a terminal."""
    from chatcli.terminal import in_background

    if not env.stdout_isatty or in_background(env.stdout):
        return None
    from chatcli.features.shell.menu import Tty

    return Tty.open(env)


def _menu(
    tty: Tty, exchange: Exchange, description: Content, markdown: str, profile: Profile
) -> int:
    from chatcli.features.shell.menu import Menu

    def ran(command: str) -> None:
        saved = _save_history(command, exchange.shell, profile)
        if saved:
            tty.write(f"\x1b[2m{saved}\x1b[0m\n")

    menu = Menu(tty, exchange, exchange.shell, markdown=markdown, ran=ran)
    return menu.run(lambda: exchange.generate(description))


def _unattended(
    env: Environment, exchange: Exchange, description: Content, what: CmdInput,
    profile: Profile, notifier: Notifier,
) -> int:  # fmt: skip
    from chatcli.features.shell import danger
    from chatcli.features.shell.execute import execute

    cleaned = exchange.generate(description)
    command = _command_of(cleaned, notifier)
    found = danger.reasons(command)
    if not what.execute:
        for reason in found:
            notifier.note(f"warning: this command looks destructive: {reason}")
        # the model's text, as it is for a pipe; on a terminal what it holds that would not
        # show is written ⟨U+XXXX⟩, as in the menu, not silently dropped
        shown = visible(command) if env.stdout_isatty else command
        out(env, shown + "\n", flush=True)
        return 0
    if found and not what.yes_destructive:
        raise ChatcliError(
            f"refusing to run a command that looks destructive: {'; '.join(found)}",
            hint="read it first (without --execute it is only printed); "
            "--yes-destructive runs it anyway",
        )
    notifier.note(running(command))
    code = execute(command, exchange.shell)
    saved = _save_history(command, exchange.shell, profile)
    if saved:
        notifier.note(saved)
    return code


def running(command: str) -> str:
    """The notice before ``--execute`` runs ``command``: one line, or each line of a script
    on its own, indented, so two commands never read as one. Characters a terminal would not
    show as they are read ``⟨U+XXXX⟩`` as in the menu (``safetext.visible``): what is logged is
    what runs, not the command with its escapes and bidi marks silently dropped."""
    lines = [line for line in command.split("\n") if line.strip()]
    if len(lines) <= 1:
        return f"running: {one_line(visible(command), 200)}"
    return "running:" + "".join(f"\n  {_shown_line(visible(line))}" for line in lines)


def _shown_line(line: str) -> str:
    """One line of a script as the notice shows it: no control sequences, its indentation
    kept, at most 200 characters."""
    text = sanitize(line).rstrip()
    return text if len(text) <= 200 else text[:199] + "…"


def _command_of(cleaned: Cleaned, notifier: Notifier) -> str:
    for note in cleaned.notes:
        notifier.note(note)
    if cleaned.command is None:
        raise NotACommand(
            f"the answer is not a command: {one_line(cleaned.answer, 160)!r}",
            hint="describe what the command should do more precisely",
        )
    return cleaned.command


def _save_history(command: str, shell: Shell, profile: Profile) -> str | None:
    """Append ``command`` to the shell's history when ``save_history`` is on; what to say."""
    if profile.save_history is False:
        return None
    from chatcli.features.shell.history import append

    try:
        path = append(command, shell, profile.save_history)
    except ChatcliError as exc:
        return f"warning: {exc.message}"
    return f"added to {path}"


def _shell(flag: str | None, configured: str | None) -> Shell:
    from chatcli.features.shell.detect import detect

    if flag is not None:
        return detect(flag)
    try:
        return detect(configured)
    except UsageError as exc:
        raise ConfigError(
            f"shell = {configured!r} in the config: {exc.message}",
            hint="set shell to bash, zsh, fish or sh, or remove it to detect the shell",
        ) from None


def _description(env: Environment, words: list[str], profile: Profile) -> Content:
    """The description: the words, then piped stdin."""
    from chatcli.inputs import gather

    if not " ".join(words).strip() and (env.stdin is None or env.stdin_isatty):
        raise _nothing()
    try:
        return gather(words, [], profile=profile).content()
    except UsageError as exc:
        if exc.message.startswith("nothing to ask"):
            raise _nothing() from None
        raise


def _nothing() -> UsageError:
    return UsageError(
        "describe the command: chatcli cmd WHAT IT SHOULD DO",
        hint='chatcli cmd "find files over 1 GB changed this week"',
    )
