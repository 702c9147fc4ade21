"""What a command runs with: the global options as given, and what they resolve to.

Shared by the CLI commands and the REPL, so it lives below both. Only the stdlib is imported at
module level (``chatcli --help`` loads it); the config is read when a command runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatcli.providers.base import Provider
    from chatcli.session import ChatSession
    from chatcli.settings.loading import Config, Profile
    from chatcli.store import Store


@dataclass(frozen=True)
class Globals:
    """The global options as given on the command line."""

    profile: str | None = None
    model: str | None = None
    config: str | None = None
    debug: bool = False


@dataclass(frozen=True)
class Env:
    """The resolved configuration a command runs with."""

    config: Config
    profile: Profile
    model: str
    debug: bool


def load_config(g: Globals) -> Config:
    """Read the config named by --config, CHATCLI_CONFIG or the platform default."""
    from chatcli.settings import loading as config
    from chatcli.settings import paths

    path, must_exist = paths.config_path(g.config)
    return config.load(path, must_exist=must_exist)


def resolve(g: Globals) -> Env:
    """Config, profile and model (flag > profile > [defaults] > built-in) for a command."""
    cfg = load_config(g)
    profile = cfg.profile(g.profile)
    model = cfg.resolve_model(g.model or profile.model)
    return Env(cfg, profile, model, g.debug)


@dataclass(frozen=True)
class SessionChoice:
    """How ``ask`` and ``chat`` were asked to pick and set up a conversation."""

    cont: bool = False  # -c: continue the latest session
    name: str | None = None  # --session NAME: continue or create it
    persist: bool = True  # save a new session (``ask`` without -c/--session does not)
    system: str | None = None  # -s
    role: str | None = None  # -r
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    command: str = "chat"


def open_session(
    env: Env, g: Globals, choice: SessionChoice, store: Store, provider: Provider
) -> ChatSession:
    """The stored session -c / --session names, or a new one.

    A resumed session keeps its own model unless ``-m`` is given, and its system prompt unless
    ``-s``/``-r`` is; a new one takes the profile's defaults for what the flags leave out.
    """
    from chatcli.session import ChatSession
    from chatcli.store import check_session_name

    if choice.name is not None:
        check_session_name(choice.name)
    system = choice.system
    if choice.role:
        system = system or env.config.role(choice.role)
    temperature = choice.temperature
    if temperature is None:
        temperature = env.profile.temperature
    max_tokens = choice.max_tokens or env.profile.max_tokens
    row = None
    if choice.cont:
        row = store.latest_session()
    elif choice.name:
        row = store.get_session(choice.name)
    if row is not None:
        session = ChatSession.resume(
            store,
            row,
            provider,
            profile=env.profile.name,
            model=env.model if g.model or not row.model else row.model,
            model_info=env.config.model_info,
            temperature=temperature,
            max_tokens=max_tokens,
            stream=choice.stream,
            command=choice.command,
        )
        if choice.system or choice.role:
            session.set_system(system, choice.role)
        return session
    return ChatSession(
        provider,
        profile=env.profile.name,
        model=env.model,
        model_info=env.config.model_info,
        store=store,
        persist=choice.persist,
        name=choice.name,
        system=system if system is not None else env.profile.system,
        role=choice.role,
        temperature=temperature,
        max_tokens=max_tokens,
        stream=choice.stream,
        command=choice.command,
    )
