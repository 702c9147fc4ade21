"""The REPL loop: read a line, run a slash command or send a message, stream the reply.

Replies go to stdout through ``render.make_writer``; everything the REPL says itself (banner,
command output, footer, notices, errors) goes to stderr, as in ``ask``. A failed turn prints the
one-line error and the loop goes on; Ctrl-C during a reply closes the stream (the session keeps
the partial reply, marked interrupted) and the loop goes on.

Every request a turn makes (each tool round, a ``/schema`` retry, ``/retry``) passes the budget
Gate the providers are connected behind (``repl.prepare``), which refuses it once a budget is
spent (``BUDGET_GO_ON`` says how to go on).

Nothing typed is lost to a failure: a message that got no answer (the server down, an error
after the retries, Ctrl-C before the reply began, a spent budget refusing it before it was sent)
stays the session's unanswered message, kept in the store at the end of the branch
(``ChatSession.keep_unanswered``), so ``/retry`` sends it, ``/undo`` puts it back in the prompt
as typed, and ``chatcli chat -c`` has it back after the REPL was left. An ``/edit`` that got no
answer leaves the conversation as it was; the edit is kept aside for ``/retry`` and ``/undo``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from chatcli import signals
from chatcli.environment import Environment
from chatcli.errors import ChatcliError, Interrupted
from chatcli.events import StreamEvent
from chatcli.features.flow import take_turn
from chatcli.output import Notifier, err, notifier_for
from chatcli.pricing import money
from chatcli.repl.prompt import Placement
from chatcli.safetext import one_line
from chatcli.store import content_text, images_attached
from chatcli.terminal import modes

if TYPE_CHECKING:
    from typing import Any

    from prompt_toolkit import PromptSession

    from chatcli.features.schema.spec import Schema
    from chatcli.features.templates.apply import Applied
    from chatcli.features.tools.toolbox import Toolbox
    from chatcli.inputs import UserInput
    from chatcli.providers.base import Provider
    from chatcli.repl.drafts import Editing
    from chatcli.session import ChatSession, TurnResult
    from chatcli.settings.loading import Config
    from chatcli.settings.resolve import ChatSettings
    from chatcli.store import Content, Store

    Specs = list[dict[str, Any]]  # function specs of the tools that are on

BUDGET_GO_ON = "type /budget to see the spending, /budget continue to go on in this session"
"""How a spent budget is overridden from inside the REPL (the flag is for the command line)."""

SUMMARY_TURNS = 3
"""How many of the last turns a resumed session shows."""

KEPT = "your message is kept: /retry sends it again, /undo puts it back in the prompt to edit"
"""What a turn that got no answer says after its error."""

EDIT_KEPT = "your edit is kept: /retry sends it again, /undo puts it back in the prompt to edit"
"""What an ``/edit`` that got no answer says after its error (the turn is as it was)."""


@dataclass
class Typed:
    """The last message as it was typed, before ``/file`` attachments and a template went
    into it: what ``/undo`` puts back (``commands._draft``)."""

    content: Content
    text: str
    attachments: UserInput | None


@dataclass
class ReplSetup:
    """What the REPL runs with besides the session: config, store and how to connect."""

    config: Config
    store: Store
    connect: Callable[[str], Provider]  # profile name -> provider
    markdown: str
    over_budget: bool = False  # --over-budget: spent budgets warn instead of refusing
    debug: bool = False  # --debug: HTTP details on stderr


class Repl:
    """One interactive chat: the prompt, the current session and the pending attachments."""

    def __init__(
        self,
        ctx: ReplSetup,
        session: ChatSession,
        provider: Provider,
        prompt: PromptSession[str],
        environment: Environment,
        *,
        notifier: Notifier | None = None,
    ) -> None:
        """``notifier``: the one the budget Gate warns through, when ``prepare`` made it."""
        self.ctx = ctx
        self.session = session
        self.prompt = prompt
        self.environment = environment
        self.stdout = environment.stdout  # replies (the writers draw there)
        self.stderr = environment.stderr
        self.notifier = notifier or notifier_for(environment)
        self.attachments: UserInput | None = None
        self.draft = ""  # text put back into the prompt (``/undo``, ``/edit``)
        self.typed: Typed | None = None  # the last message sent, as typed
        self.tried = False  # the line being handled tried a turn (a message, /retry...)
        self.tools: Toolbox | None = None  # MCP tools (-T, a profile's tools, ``/tools``)
        self.editing: Editing | None = None  # the turn the next message replaces (``/edit``)
        self.template: Applied | None = None  # chat --template: wraps every message
        self.schema: Schema | None = None  # ``/schema``: the next reply is JSON valid against it
        self.standing_schema: Schema | None = None  # ``chat --schema``: every reply
        # the schema each structured message was asked under (by its words, with the stored
        # conversation it is in), for ``/regenerate``, ``/edit`` and ``/retry`` (``structured``)
        self.asked: dict[str, tuple[int | None, Schema]] = {}
        self.placement = Placement()  # where the prompt left the last message (prompt.py)
        self._warm: threading.Thread | None = threading.Thread(
            target=_warm_up, args=(provider, session), name="chatcli-warm-up", daemon=True
        )

    # output helpers

    def say(self, text: str, *, dim: bool = False) -> None:
        """A line of the REPL's own output (stderr), sanitised: it often quotes stored or
        server text."""
        err(self.environment, text, dim=dim)

    def error(self, exc: ChatcliError) -> None:
        """The same one-line error (and hint) ``__main__`` prints, without leaving the REPL."""
        self.notifier.end_line()
        from chatcli.hints import hint_for

        self.say(f"chatcli: error: {exc.message}")
        hint = hint_for(exc)
        if hint:
            self.say(f"hint: {hint}")

    # the loop

    def run(self) -> None:
        """Read and handle input until Ctrl-D or ``/exit``."""
        if self._warm is not None:
            self._warm.start()
        self.banner()
        try:
            self._loop()
        finally:
            if self.tools is not None:
                self.tools.close()

    @property
    def settings(self) -> ChatSettings:
        return self.session.settings

    def _loop(self) -> None:
        # Keys typed while a line is handled (a reply streaming, a slash command running) wait
        # hidden for the prompt (``_typeahead_kept``); the mode is held until the next prompt
        # has taken the terminal, or a key typed between the two (right after a command's
        # output) would be echoed and its Enter become a newline in the draft.
        with contextlib.ExitStack() as held:
            self._lines(held)

    def _lines(self, held: contextlib.ExitStack) -> None:
        from chatcli.repl.commands import EXIT, run_command

        while True:
            try:
                with signals.resting():  # every turn is saved: a hangup here ends at once
                    text = self.prompt.prompt("› ", default=self.draft)
            except KeyboardInterrupt:  # Ctrl-C at the prompt: drop the line, ask again
                if signals.received():  # SIGHUP/SIGTERM: leave (main says why)
                    raise
                self.draft, self.editing = "", None
                self._drop_attachments()
                continue
            except EOFError:
                break
            finally:
                held.close()  # the prompt has read its keys: back to the mode it started in
            self.draft = ""
            editing, self.editing = self.editing, None
            if not text.strip():
                continue
            held.enter_context(_typeahead_kept(self.environment))
            self._show_if_tall(text)
            self.tried = False
            try:
                self._still_stored(text)
                if text.startswith("/"):
                    if run_command(self, text) is EXIT:
                        break
                else:
                    self.send(text, editing)
            except ChatcliError as exc:
                if signals.received():  # SIGTERM/SIGHUP: the turn is kept; leave (main says why)
                    if not isinstance(exc, Interrupted):
                        self.error(exc)
                    raise Interrupted(signals.describe()) from None
                self.error(exc)
                self._after_failure()
            except KeyboardInterrupt:  # during a command: stop it, not the REPL
                if signals.received():
                    raise
                self.notifier.end_line()
                self.say("interrupted", dim=True)
                self._after_failure()
            finally:  # a signal leaving the REPL included: ``chat -c`` finds the message
                self._keep_unanswered()

    def _drop_attachments(self) -> None:
        """Ctrl-C at the prompt drops the whole draft: the ``/file`` attachments pending (or
        brought back by ``/undo``) too, which would otherwise go, unseen, with the next and
        unrelated message."""
        from chatcli.repl.drafts import count

        if (n := count(self.attachments)) > 0:
            self.attachments = None
            self.say(f"{n} attached file(s) dropped", dim=True)

    def _still_stored(self, line: str) -> None:
        """Another process may have deleted the session while the prompt waited (``sessions
        rm``): before a message or a command that uses it, the session is made again with the
        turns held here (it says so). ``/exit``, ``/new`` and ``/resume`` let it go; a database
        that cannot be read now is for the line itself to report."""
        word = (line[1:].split() or [""])[0] if line.startswith("/") else ""
        if word in ("exit", "new", "resume"):
            return
        with contextlib.suppress(ChatcliError):
            self.session.ensure_stored()

    def _after_failure(self) -> None:
        """After a failed turn's error: what is kept of it and what ``/retry`` does."""
        if not self.tried:
            return
        s = self.session
        if s.failed_edit is not None:
            self.say(f"turn {s.failed_edit.number} is as it was; {EDIT_KEPT}", dim=True)
        elif s.unanswered is not None:
            self.say(KEPT, dim=True)
        elif s.failed_turn is not None:
            self.say(f"turn {s.failed_turn} keeps the answer it had; /retry asks again", dim=True)
        elif s.last_turn is not None and s.last_turn.interrupted:
            self.say("the partial reply is kept, marked interrupted; /retry asks again", dim=True)

    def _keep_unanswered(self) -> None:
        """A message that got no answer into the store (see ``ChatSession.keep_unanswered``);
        when the database cannot take it, it stays for ``/retry`` while the REPL runs."""
        if self.session.unanswered is None:
            return
        try:
            self.session.keep_unanswered()
        except ChatcliError as exc:
            self.say(f"your message could not be saved in the database ({exc.message}); "
                     "/retry still sends it until you leave", dim=True)  # fmt: skip

    def _show_if_tall(self, text: str) -> None:
        """A message taller than the pane, which the prompt left out, written once whole."""
        from chatcli.repl.output import echo_tall, is_tall

        output = self.prompt.output
        size = output.get_size()
        if self.environment.stdout_isatty and is_tall(text, size.rows, size.columns):
            echo_tall(output, text)

    def banner(self) -> None:
        """Say what this chat talks to; for a resumed session, show where it stopped."""
        s = self.session
        parts = ["chatcli chat", f"{s.model} via {s.profile}", "/help for commands"]
        self.say_fitted([*parts, "Ctrl-D to leave"], dim=True)
        if s.row is not None:
            self.summary()

    def summary(self) -> None:
        """The last few turns of the loaded session, one shortened line per message."""
        s = self.session
        history = s.history
        turns = sum(1 for m in history if m.role == "user")
        name = s.name or "(unsaved)"
        self.say(f"session {name}: {turns} turn{'s' if turns != 1 else ''} loaded", dim=True)
        starts = [i for i, m in enumerate(history) if m.role == "user"]
        shown = history[starts[-SUMMARY_TURNS] :] if len(starts) > SUMMARY_TURNS else history
        earlier = len(starts) - SUMMARY_TURNS
        if earlier > 0:
            self.say(f"  … {earlier} earlier turn{'s' if earlier != 1 else ''}", dim=True)
        from chatcli.terminal import shorten

        # One row each: the last column stays free, as "…" is two columns wide in some
        # CJK terminal setups (an East Asian "ambiguous" width character).
        columns = _columns(self.stderr) - 1
        for message in shown:
            who = {"user": "you", "tool": "fn "}.get(message.role, "ai ")
            text = one_line(content_text(message.content), 10_000)  # stored server text
            if message.tool_calls and not text:  # a reply that only called tools
                text = "calls " + ", ".join(str(c.get("name")) for c in message.tool_calls)
            images = images_attached(message.content)  # as `sessions show` notes them
            mark = f" [{images}]" if images else ""
            mark += " [interrupted]" if message.interrupted else ""
            head = f"  {who} › "
            room = max(1, columns - len(head) - len(mark))
            self.say(f"{head}{shorten(text, room)}{mark}", dim=True)
        if s.unanswered is not None:  # the last message got no answer: offer it again
            text = one_line(content_text(s.unanswered), 10_000)
            images = images_attached(s.unanswered)
            mark = (f" [{images}]" if images else "") + " [no answer]"
            room = max(1, columns - len("  you › ") - len(mark))
            self.say(f"  you › {shorten(text, room)}{mark}", dim=True)
            self.say("your last message got no answer: /retry sends it again, /undo puts it "
                     "back in the prompt to edit", dim=True)  # fmt: skip

    # turns

    def send(self, text: str, editing: Editing | None = None) -> None:
        """Send a message (with any ``/file`` attachments) and stream the reply; ``editing``
        names the turn it replaces (``/edit``), whose files go with it."""
        from chatcli.inputs import UserInput
        from chatcli.repl.drafts import joined

        message = UserInput(texts=[text])
        if self.template is not None:  # an edited turn came back unwrapped (``drafts``)
            self.template.wrap(message)
        attachments = joined(editing.attachments if editing is not None else None,
                             self.attachments)  # fmt: skip
        self.attachments = None
        if attachments is not None:  # from now on part of the message ``/retry`` resends
            message.texts.extend(attachments.texts)
            message.images.extend(attachments.images)
        content = message.content()
        self.typed = Typed(content, text, attachments)
        self.tried = True
        before = self.session.last_turn
        try:
            from chatcli.repl import structured

            if editing is None:
                schema = self.schema or self.standing_schema
            else:  # an edit is asked under the schema its turn was asked under
                schema = structured.again(self, self.session.turn_content(editing.number))
            if schema is not None:
                first = None if editing is None else structured.edit(self, editing.number)
                structured.send(self, content, schema, first)
            elif editing is not None:
                number = editing.number
                self.stream(lambda t: self.session.edit(number, content, tools=t))
            else:
                self.stream(lambda t: self.session.send(content, tools=t))
        except BaseException:
            s = self.session
            taken = s.unanswered is content or (
                s.failed_edit is not None and s.failed_edit.content is content
            )
            if not taken and (s.last_turn is None or s.last_turn is before):
                # failed before the session took it: kept all the same
                with contextlib.suppress(ChatcliError):
                    if editing is not None:
                        s.keep_edit(editing.number, content)
                    else:
                        s.keep_unanswered(content)
            raise

    def tooled(
        self, first: Callable[[Specs | None], Iterator[StreamEvent]]
    ) -> Iterator[StreamEvent]:
        """A turn's events; with tools on, ``first(specs)`` is its first round and the tool
        loop runs the rest (send, /retry, /regenerate and /edit all come through here)."""
        box = self.tools
        if box is None or not box.enabled:
            return first(None)
        from chatcli.features.tools.loop import turn

        return turn(self.session, first(box.specs()), box)  # each round passes the Gate

    def stream(self, first: Callable[[Specs | None], Iterator[StreamEvent]]) -> None:
        """One turn (``first(specs)`` its first request: a message, /retry, /regenerate,
        /edit) through the one turn flow: the reply shown as it streams (its request judged by
        the budget Gate first), then its footer; Ctrl-C stops it and keeps the part."""
        from chatcli.render import make_writer

        self.tried = True
        if self._warm is not None:
            self._warm.join()  # the client it builds is the one this request uses
            self._warm = None
        writer = make_writer(self.ctx.markdown, self.stdout, rows_above=self.placement.rows_above)
        self.placement.rows_above = None  # a turn not typed at the prompt has rows unknown
        if self.tools is not None and self.tools.approval.terminal is not None:
            self.tools.approval.terminal.writer = writer

        def interrupted(exc: ChatcliError) -> bool:
            if not isinstance(exc, Interrupted) or signals.received():
                return False  # a signal: the turn is kept; the terminal may be gone: leave
            self.notifier.end_line()
            turn = self.session.last_turn
            edit = self.session.failed_edit
            if turn is None and edit is not None:
                self.say(f"interrupted before the reply began: turn {edit.number} is as it was; "
                         "/retry sends your edit", dim=True)  # fmt: skip
                return True
            if turn is None:
                self.say("interrupted before the reply began; /retry sends it again", dim=True)
                return True
            if not turn.text and turn.calls:  # at a tool call (its question): no reply yet
                self.say(self._stopped_at_calls(), dim=True)
            else:
                self.say("interrupted: the partial reply is kept", dim=True)
            self.footer()
            return True

        take_turn(lambda: self.tooled(first), writer, self.notifier,
                  what="reply", report=self.footer, failed=interrupted,
                  keys=_typeahead_kept(self.environment))  # fmt: skip

    def _stopped_at_calls(self) -> str:
        """What a turn interrupted at its tool calls (the approval question, a call running)
        kept: the calls stopped while running, those not run, and no reply."""
        from chatcli.features.tools.loop import stopped_at_calls

        return stopped_at_calls(self.tools.calls if self.tools is not None else [])

    def footer(self, turn: TurnResult | None = None) -> None:
        """The dim one-line summary of ``turn``, else of the last reply (nothing when none
        was kept)."""
        turn = turn or self.session.last_turn
        if turn is not None:
            self.say_fitted(footer_parts(turn), dim=True)

    def say_fitted(self, parts: list[str], *, dim: bool = False) -> None:
        """Facts joined by `` · ``, wrapped at the separators to the terminal's width."""
        from chatcli.repl.fit import fit

        for line in fit(parts, _columns(self.stderr)):
            self.say(line, dim=dim)


def footer_text(turn: TurnResult) -> str:
    """``19 in (12 cached) · 34 out · $0.000021 · 0.31 s to first token · 85 tok/s``."""
    return " · ".join(footer_parts(turn))


def footer_parts(turn: TurnResult) -> list[str]:
    """The footer's facts, each a unit that is never split across lines."""
    approx = "~" if turn.estimated else ""
    cached = f" ({turn.cached_tokens} cached)" if turn.cached_tokens else ""
    thought = f" ({turn.reasoning_tokens} reasoning)" if turn.reasoning_tokens else ""
    parts = [
        f"{approx}{turn.prompt_tokens} in{cached}",
        f"{approx}{turn.completion_tokens} out{thought}",
    ]
    parts.append("cost unknown" if turn.cost_usd is None else money(turn.cost_usd))
    if turn.ttft is not None:
        parts.append(f"{turn.ttft:.2f} s to first token")
    speed = turn.tokens_per_second
    if speed is not None:
        parts.append(f"{speed:.0f} tok/s")
    if turn.requests > 1:
        parts.append(f"{turn.requests} requests")
    if turn.interrupted:
        parts.append("interrupted")
    return parts


def _columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to (of the controlling one, or 80, when it
    is not a terminal)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    return columns or shutil.get_terminal_size().columns


@contextlib.contextmanager
def _typeahead_kept(env: Environment) -> Iterator[None]:
    """While a reply streams (or a slash command runs), keys typed ahead are neither echoed
    into it nor turned into lines: echo and canonical mode go off, and Enter stays CR (the tty
    would turn it into LF, which the prompt reads as Ctrl+J: a newline, not "send"). Ctrl-C
    still raises SIGINT, and does not discard the end of a frame already written (NOFLSH).
    The prompt reads the keys once the reply (or command) is done."""
    try:
        import termios
    except ImportError:  # not a POSIX terminal
        yield
        return
    if env.stdin is None:
        yield
        return
    with modes(
        env.stdin,
        local_off=termios.ECHO | termios.ICANON,
        local_on=termios.NOFLSH,
        input_off=termios.ICRNL,
    ):
        yield


def _warm_up(provider: Provider, session: ChatSession) -> None:
    """Pay the one-off costs of the first reply while the user types: the HTTP client (httpx2
    import, TLS context), the tokenizer, and the Markdown renderer's imports."""
    from chatcli.render import make_writer
    from chatcli.tokens import count_text

    try:
        provider.warm(session.model)
        count_text("warm up", session.info.tokenizer)
        writer = make_writer("always", io.StringIO())
        writer.feed("# warm\n\n`up` *now*\n\n```python\nx = 1\n```\n")
        writer.finish()
    except Exception:  # the first real request reports any real problem
        return
