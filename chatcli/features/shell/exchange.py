"""The requests of one ``chatcli cmd``: generate, revise, describe, all in one conversation.

They go through a ``ChatSession`` like any other request, so each is logged and priced (as
command ``cmd``) and the exchange is stored as a one-shot conversation ``ask -c`` continues.
The system prompt is switched per kind of request: the command-only one to generate and
revise, the explaining one to describe; when the exchange ends the stored conversation keeps
a follow-up prompt (unless the user chose the prompt with ``-s``/``-r``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatcli.features.flow import take_turn
from chatcli.features.shell import prompts
from chatcli.features.shell.clean import Cleaned, clean
from chatcli.features.shell.detect import Shell
from chatcli.output import Notifier, Writer

if TYPE_CHECKING:
    from chatcli.session import ChatSession
    from chatcli.store import Content


class Exchange:
    """Sends the ``cmd`` requests of one conversation."""

    def __init__(
        self, session: ChatSession, shell: Shell, notifier: Notifier, *, custom: bool = False
    ) -> None:
        """``custom``: the session's system prompt is the user's choice for ``cmd`` (``-s`` or
        ``-r``); else the built-in one is used (not the profile's everyday ``system``)."""
        self.session = session
        self.shell = shell
        self.notifier = notifier
        self.custom = custom and session.system is not None
        self.system = prompts.fill(
            session.system if self.custom and session.system else prompts.COMMAND_PROMPT, shell
        )
        self.role = session.role if self.custom else None

    def generate(self, description: Content) -> Cleaned:
        """Ask for the command the description wants."""
        return self._command(description)

    def revise(self, command: str | None, change: str) -> Cleaned:
        """Ask for ``command`` changed as ``change`` says (no command yet: ``change`` alone)."""
        request = prompts.revise_request(command, change) if command else change
        return self._command(request)

    def describe(self, command: str, writer: Writer | None) -> None:
        """Stream an explanation of ``command`` into ``writer``."""
        self._set(prompts.fill(prompts.DESCRIBE_PROMPT, self.shell), None)
        request = prompts.describe_request(command)
        take_turn(lambda: self.session.send(request), writer, self.notifier, what="explanation")

    def close(self) -> None:
        """Leave the stored conversation ready for ``ask -c`` follow-ups."""
        if self.custom:
            self._set(self.system, self.role)
        else:
            self._set(prompts.fill(prompts.FOLLOW_UP_PROMPT, self.shell), None)

    def _command(self, content: Content) -> Cleaned:
        self._set(self.system, self.role)
        take_turn(lambda: self.session.send(content), None, self.notifier, what="command")
        turn = self.session.last_turn
        return clean(turn.text if turn is not None else "")

    def _set(self, system: str, role: str | None) -> None:
        if (self.session.system, self.session.role) != (system, role):
            self.session.set_system(system, role)
