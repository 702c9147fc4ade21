"""Opening a conversation: the one path ``ask``, ``chat`` and ``/resume`` take.

Picks the stored conversation the flags name (``-c``: the latest, whatever made it;
``--session NAME``), resolves the settings once (``settings.resolve.resolve_chat``: a stored
conversation keeps its profile and model), connects to that profile and opens the session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from chatcli.errors import ConfigError, UsageError
from chatcli.settings.resolve import ChatFlags, ChatSettings, Invocation, resolve_chat

if TYPE_CHECKING:
    from chatcli.environment import Clock
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import Provider
    from chatcli.session import ChatSession
    from chatcli.settings.loading import Config, Profile
    from chatcli.store import SessionRow, Store

STALE = timedelta(hours=1)
"""``-c`` says which conversation it continued when that one is older than this."""

Connect = Callable[["Profile"], "Provider"]


@dataclass
class Conversation:
    """An opened conversation: the session, its settings, and what the user should be told."""

    session: ChatSession
    settings: ChatSettings
    config: Config
    notes: list[str]


def pick(store: Store, flags: ChatFlags) -> SessionRow | None:
    """The stored conversation ``-c`` or ``--session`` names (None: start a new one). A name
    no session can have is refused here, before anything is sent: the store would only refuse
    it when saving the turn, after the answer was paid for."""
    if flags.cont and flags.session:
        raise UsageError("use either -c/--continue or --session NAME, not both")
    if flags.session is not None:
        from chatcli.store import check_session_name

        check_session_name(flags.session)
    if flags.cont:
        return store.latest_session()
    if flags.session:
        return store.get_session(flags.session)
    return None


def open_conversation(
    run: Invocation,
    flags: ChatFlags,
    store: Store,
    *,
    command: str,
    one_shot: bool = False,
    connect: Connect | None = None,
    clock: Clock | None = None,
) -> Conversation:
    """Open the conversation the flags ask for; ``one_shot`` marks a new one as made by
    ``ask``. ``connect`` replaces ``providers.connect`` (the REPL caches its providers);
    without it the provider is connected with ``clock``, the command's."""
    from chatcli.session import ChatSession

    cfg = run.config
    row = pick(store, flags)
    settings = resolve_chat(run, flags, row, command=command)
    notes = list(settings.notes)
    from chatcli.retirements import notice
    from chatcli.settings.endpoint_types import endpoint_type

    retiring = notice(settings.model, own_schedule=endpoint_type(settings.profile).own_retirements)
    if retiring is not None:
        notes.append(retiring)
    if flags.cont and row is not None:
        note = _continued_note(run, row)
        if note:
            notes.append(note)
    elif flags.cont:  # the user expects context that is not there: say so
        notes.append("no conversation to continue; starting a new one")
    if connect is None:
        from chatcli.providers import connect as connect_profile

        assert clock is not None, "connect with the command's clock"
        provider: Provider = connect_profile(
            settings.profile, cfg.model_info, clock=clock, debug=run.debug, store=store
        )
    else:
        provider = connect(settings.profile)
    settings = _with_endpoint_window(settings, provider)
    session = ChatSession.open(
        provider,
        settings,
        store=store,
        row=row,
        name=flags.session,
        persist=True,
        one_shot=one_shot and not flags.session,
    )
    return Conversation(session, settings, cfg, notes)


def _with_endpoint_window(settings: ChatSettings, provider: Provider) -> ChatSettings:
    """``settings`` with the context window the endpoint states for a model chatcli knows no
    window of (a relay's or a local server's own model), so long conversations are trimmed to
    it instead of not at all. Asked once per profile and model, then remembered."""
    from dataclasses import replace

    base = settings.model_info
    model = settings.model
    if base(model).context_window is not None:
        return settings
    ask = getattr(provider, "context_window", None)
    window = ask(model) if callable(ask) else None
    if not isinstance(window, int):
        return settings

    def model_info(name: str) -> ModelInfo:
        info = base(name)
        if name == model and info.context_window is None:
            return replace(info, context_window=window)
        return info

    return replace(settings, model_info=model_info)


def _continued_note(run: Invocation, row: SessionRow) -> str | None:
    """Which conversation ``-c`` continued, when it may not be the one the user thinks."""
    age = datetime.now(UTC) - row.updated_at
    try:
        usual = run.config.profile(run.profile).name
    except ConfigError:  # the usual profile is broken: not this command's concern
        usual = None
    other = row.profile is not None and row.profile != usual
    if age < STALE and not other:
        return None
    when = row.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
    title = f" ({row.title})" if row.title else ""
    return f"continuing {row.name}{title}, last used {when}, profile {row.profile or '?'}"
