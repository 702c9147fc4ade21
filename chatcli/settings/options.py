"""The global options as typed (``-p``, ``-m``, ``--config``, ``--debug``, before or after the
command): what only ``cli/`` sees. ``settings/resolve.py`` turns them into the value each
command's feature receives. Kept apart and tiny because every command module imports it for
``chatcli --help``; the resolvers are imported when a command runs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Globals:
    """The global options as given on the command line (before or after the command)."""

    profile: str | None = None
    model: str | None = None
    config: str | None = None
    debug: bool = False

    def __post_init__(self) -> None:
        from chatcli.errors import UsageError

        for flag, value in (("-m/--model", self.model), ("-p/--profile", self.profile)):
            if value is not None and not value.strip():
                raise UsageError(f"{flag} is empty", hint=f"give a name: {flag.split('/')[0]} NAME")
        if self.config is not None and not self.config.strip():  # "$CFG" unset: not the default
            raise UsageError("--config is empty", hint="give a path: --config PATH")

    def under(self, outer: Globals) -> Globals:
        """These options, falling back to ``outer`` (those written before the command)."""
        return Globals(
            self.profile or outer.profile,
            self.model or outer.model,
            self.config or outer.config,
            self.debug or outer.debug,
        )
