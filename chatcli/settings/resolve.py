"""What a command runs with: the global options as given, resolved once at the command's edge.

``Globals`` are the options every command takes, as typed; only ``cli/`` sees them. Each
command resolves them here, once, into one frozen value its feature receives: ``Env`` (config,
profile, model) for the commands that talk to one endpoint; ``Invocation`` (the config read
once, and the profile and model the command line named) for those that choose their profile
later (a stored conversation's, a batch job's); ``Staged`` for ``doctor``, which reports each
step's failure; ``config_file`` for the commands that edit the file itself. ``ChatSettings`` is
everything one conversation runs with, resolved once (flag > stored session > profile >
``[defaults]`` > built-in) from an ``Invocation``, the chatting options (``ChatFlags``) and the
stored conversation. Shared by the CLI commands and the REPL, so it lives below both. Only the
stdlib is imported at module level (``chatcli --help`` loads it); the config is read when a
command runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from chatcli.settings.options import Globals as Globals

if TYPE_CHECKING:
    from pathlib import Path

    from chatcli.errors import ChatcliError
    from chatcli.pricing import ModelInfo
    from chatcli.settings.loading import Config, Profile


@dataclass(frozen=True)
class Invocation:
    """The config, read once at the command's edge, and the profile and model the command line
    named (None: not given; aliases not yet resolved): what a command whose profile is chosen
    later (a stored conversation's, a batch job's) hands its feature instead of the options."""

    config: Config
    profile: str | None = None
    model: str | None = None
    debug: bool = False
    named_by: str | None = None  # where ``profile`` came from (-p/--profile), for errors

    def env(self) -> Env:
        """Profile and model (flag > profile > [defaults] > built-in) for one endpoint."""
        profile = self.config.profile(self.profile, named_by=self.named_by)
        asked = self.config.resolve_model(self.model) if self.model else None
        model = asked or self.config.resolve_model(profile.model)
        return Env(self.config, profile, model, self.debug, asked, self.profile is not None)


@dataclass(frozen=True)
class Env:
    """The resolved configuration a command that talks to one endpoint runs with."""

    config: Config
    profile: Profile
    model: str
    debug: bool
    asked_model: str | None = None  # -m as given, aliases resolved (None: the command's default)
    asked_profile: bool = False  # -p was given (``config show`` names the source)

    def chat_settings(self, command: str) -> ChatSettings:
        """Settings for a new conversation with this profile and model and the profile's
        defaults for the rest (summarize)."""
        run = Invocation(self.config, self.profile.name, self.model, self.debug)
        return resolve_chat(run, ChatFlags(), command=command)


@dataclass(frozen=True)
class Staged:
    """``resolve`` taken step by step, for ``doctor``: the config and the resolved ``Env`` as
    far as they got, and the step that failed (``config`` or ``profile``) with its error."""

    config: Config | None
    env: Env | None
    failed: tuple[str, ChatcliError] | None = None


def load_config(g: Globals) -> Config:
    """Read the config named by --config, CHATCLI_CONFIG or the platform default; warnings
    about the file (a key readable by others) go to stderr once here."""
    import logging

    from chatcli.settings import loading as config
    from chatcli.settings import paths

    path, must_exist = paths.config_path(g.config)
    cfg = config.load(path, must_exist=must_exist)
    for warning in cfg.warnings:
        logging.getLogger("chatcli").warning(f"chatcli: warning: {warning}")  # output.log_to
    return cfg


def config_file(g: Globals) -> Path:
    """The config file --config, CHATCLI_CONFIG or the platform default names (it may not
    exist): for the commands that create, edit or check the file itself."""
    from chatcli.settings import paths

    return paths.config_path(g.config)[0]


def invocation(g: Globals) -> Invocation:
    """The config read once, with the profile and model ``g`` names."""
    return Invocation(load_config(g), g.profile, g.model, g.debug, named_by="-p/--profile")


def resolve(g: Globals) -> Env:
    """Config, profile and model (flag > profile > [defaults] > built-in) for a command."""
    return invocation(g).env()


def staged(g: Globals) -> Staged:
    """``resolve``, stopping at the first step that fails instead of raising (``doctor``)."""
    from chatcli.errors import ChatcliError

    try:
        run = invocation(g)
    except ChatcliError as exc:
        return Staged(None, None, ("config", exc))
    try:
        return Staged(run.config, run.env())
    except ChatcliError as exc:
        return Staged(run.config, None, ("profile", exc))


@dataclass(frozen=True)
class ChatFlags:
    """The chatting options of ``ask`` and ``chat`` as typed (None: not given)."""

    system: str | None = None  # -s
    role: str | None = None  # -r
    temperature: float | None = None  # -t
    max_tokens: int | None = None
    markdown: str | None = None
    stream: bool = True  # --no-stream
    cont: bool = False  # -c: continue the latest conversation
    session: str | None = None  # --session NAME: continue or create it
    log: bool = True  # --no-log turns recording off
    tools: tuple[str, ...] = ()  # -T: servers or server.tool names ("none": drop what is before)
    approve: tuple[str, ...] = ()  # --approve: tools run without asking
    max_tool_rounds: int | None = None
    reasoning: str | None = None  # --reasoning: minimal, low, medium, high
    service_tier: str | None = None  # --service-tier
    # a template's model and system prompt (``--template``): defaults under -m and -s/-r that a
    # continued session uses for this run's requests without taking them on
    template_model: str | None = None
    template_system: str | None = None


class Stored(Protocol):
    """What a stored conversation remembers of its settings (a ``store.SessionRow``)."""

    @property
    def name(self) -> str: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def system(self) -> str | None: ...
    @property
    def role(self) -> str | None: ...


@dataclass(frozen=True)
class ChatSettings:
    """Everything one conversation runs with, resolved once; ``notes`` are what the user
    should be told about how (an override of the session's profile or model)."""

    profile: Profile
    model: str
    model_info: Callable[[str], ModelInfo]
    system: str | None = None
    role: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    markdown: str = "auto"
    log: bool = True
    command: str = "chat"
    debug: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)
    tools: tuple[str, ...] = ()  # on for this conversation (empty: no tools, nothing loaded)
    approve: tuple[str, ...] = ()  # approved in advance (--approve, auto_approve)
    max_tool_rounds: int = 8
    reasoning: str | None = None  # reasoning effort asked for
    service_tier: str | None = None  # processing tier asked for
    configured: dict[tuple[str, str], str] = field(default_factory=dict, compare=False)
    """(``tools`` or ``auto_approve``, name) -> ``path:line:col: profiles.p.tools`` for the
    names that came from the config, not the command line (``from_config``)."""
    kept: dict[str, str | None] = field(default_factory=dict, compare=False)
    """What a continued session keeps where this run differs for its own requests only (a
    template's ``model``, ``system`` and ``role``): its row is left with these."""

    @contextmanager
    def from_config(self, key: str, name: str) -> Iterator[None]:
        """A UsageError about ``name`` of ``tools``/``auto_approve`` (a tool its server does
        not have, known only once the server started) becomes the ConfigError it is when the
        name came from the config: exit 3, naming the key it is in."""
        from chatcli.errors import ConfigError, UsageError

        try:
            yield
        except UsageError as exc:
            where = self.configured.get((key, name))
            if where is None:
                raise
            raise ConfigError(
                f"{where}: {exc.message}",
                hint="fix or remove the name there (`chatcli mcp "
                "list SERVER` lists a server's tools)",
            ) from None


@dataclass(frozen=True)
class _Running:
    """A conversation in progress seen as a stored one (``Stored``)."""

    name: str
    profile: str | None
    model: str | None
    system: str | None
    role: str | None


def switch_profile(cfg: Config, current: ChatSettings, name: str) -> ChatSettings:
    """``/profile NAME``: exactly what ``chat -c -p NAME`` resolves for the conversation in
    progress: the profile's model with its aliases resolved, its temperature and max_tokens,
    and the conversation's own system prompt and role kept."""
    running = _Running("this session", current.profile.name, current.model, current.system,
                       current.role)  # fmt: skip
    flags = ChatFlags(stream=current.stream, log=current.log)
    run = Invocation(cfg, profile=name, debug=current.debug)
    settings = resolve_chat(run, flags, running, command=current.command)
    return replace(settings, notes=())


def resolve_chat(
    run: Invocation,
    flags: ChatFlags,
    stored: Stored | None = None,
    *,
    command: str,
) -> ChatSettings:
    """Settings for a new conversation, or for continuing ``stored``.

    A stored conversation keeps its profile and model; ``-p``/``-m`` override them (for the
    rest of that conversation, since the session row follows) and say so. Changing the profile
    without ``-m`` takes the new profile's model, as ``/profile`` does. The system prompt is the
    session's unless ``-s``/``-r`` is given. A template's model and system prompt come under
    those flags and apply to this run only: a continued session keeps its own (``kept``).
    """
    cfg = run.config
    _refuse_unlogged_session(flags)
    _refuse_system_with_role(flags)
    notes: list[str] = []
    name = run.profile
    if stored is not None and not run.profile and stored.profile:
        _refuse_lost_profile(cfg, stored)
        name = stored.profile
    profile = cfg.profile(name, named_by=run.named_by if name == run.profile else None)
    if run.model:
        model = cfg.resolve_model(run.model)
    elif stored is not None and stored.model and stored.profile in (None, profile.name):
        model = stored.model
    else:
        model = cfg.resolve_model(profile.model)
    if stored is not None and (run.profile or run.model):
        before = (stored.profile or profile.name, stored.model or model)
        if before != (profile.name, model):
            flag = " and ".join(f for f, v in (("-p", run.profile), ("-m", run.model)) if v)
            notes.append(
                f"{stored.name} now uses {model} via {profile.name} (was {before[1]} via "
                f"{before[0]}; {flag} changes it for the rest of that session)"
            )
    own: dict[str, str | None] = {}  # what a continued session keeps (``ChatSettings.kept``)
    if flags.template_model and not run.model:  # for this run; the session keeps its model
        own["model"] = model
        model = cfg.resolve_model(flags.template_model)
    system, role = flags.system, flags.role
    if role and system is None:
        system = cfg.role(role)
    if system is None and role is None:
        if stored is not None:
            system, role = stored.system, stored.role
        else:
            system = profile.system
        if flags.template_system is not None:  # for this run; the session keeps its prompt
            own.update(system=system, role=role)
            system, role = flags.template_system, None
    temperature = flags.temperature if flags.temperature is not None else profile.temperature
    in_role = bool(role) and role in cfg.role_tools
    defaults = cfg.role_tools[role] if role and in_role else profile.tools
    tools = _tools(defaults, flags.tools)
    where = f"roles.{role}" if in_role else _table(profile.sources.get("tools"))
    configured = {("tools", name): cfg.tool_key(where, "tools")
                  for name in defaults if name in tools and name not in flags.tools}  # fmt: skip
    approve_from = _table(profile.sources.get("auto_approve"))
    configured.update({("auto_approve", name): cfg.tool_key(approve_from, "auto_approve")
                       for name in profile.auto_approve if name not in flags.approve})  # fmt: skip
    kept = flags.cont or flags.session is not None
    return ChatSettings(
        profile=profile,
        model=model,
        model_info=cfg.model_info,
        system=system,
        role=role,
        temperature=temperature,
        max_tokens=flags.max_tokens or profile.max_tokens,
        stream=flags.stream,
        markdown=flags.markdown or profile.markdown,
        # the REPL always saves; so does an explicit -c/--session, whatever ``log`` says
        log=flags.log and (profile.log or command == "chat" or kept),
        command=command,
        debug=run.debug,
        notes=tuple(notes),
        tools=tools,
        approve=(*profile.auto_approve, *flags.approve),
        max_tool_rounds=flags.max_tool_rounds or 8,
        reasoning=flags.reasoning,
        service_tier=flags.service_tier,
        configured=configured,
        kept=own if stored is not None else {},
    )


def _refuse_lost_profile(cfg: Config, stored: Stored) -> None:
    """A stored conversation whose profile is gone from the config (removed or renamed):
    refused (exit 3) rather than sent, with its history, to whatever profile is the default;
    only ``-p`` moves it, so the user names where it goes."""
    lost = stored.profile
    if lost is None or lost in cfg.profiles or lost in cfg.incomplete:
        return  # an incomplete profile is refused by ``cfg.profile`` with its own problem
    from chatcli.errors import ConfigError

    known = ", ".join(sorted(cfg.profiles)) or "none"
    raise ConfigError(
        f"profile {lost} of session {stored.name!r} no longer exists (known: {known})",
        hint=f"pass -p NAME to move {stored.name!r} and its history to another profile, "
        f"or define profile {lost} again",
    )


def _refuse_system_with_role(flags: ChatFlags) -> None:
    """``-s`` and ``-r`` together: each names the system prompt, and silently taking one would
    send a prompt the user may not have meant (exit 2, before anything is sent)."""
    if flags.system is None or not flags.role:
        return
    from chatcli.errors import UsageError

    raise UsageError(
        "-s/--system and -r/--role both set the system prompt: give one of them",
        hint="-r NAME uses [roles.NAME]'s prompt; -s TEXT gives one of your own",
    )


def _refuse_unlogged_session(flags: ChatFlags) -> None:
    """``--no-log`` with ``-c``/``--session``: one asks to record nothing, the other to keep
    the exchange in a conversation; refused (exit 2) before anything is sent, rather than
    silently dropping the session the user named."""
    if flags.log or not (flags.cont or flags.session is not None):
        return
    from chatcli.errors import UsageError

    flag = "--session" if flags.session is not None else "-c/--continue"
    raise UsageError(
        f"--no-log records nothing; {flag} keeps a conversation",
        hint=f"drop --no-log to keep this exchange in the session, or drop {flag} for an "
        "exchange stored nowhere",
    )


def _tools(defaults: tuple[str, ...], flags: tuple[str, ...]) -> tuple[str, ...]:
    """The tools on: the defaults, then each ``-T`` in order; ``-T none`` drops the defaults
    and every ``-T`` before it (``-T none -T t.echo``: t.echo only)."""
    tools = list(defaults)
    for name in flags:
        tools = [] if name == "none" else [*tools, name]
    return tuple(dict.fromkeys(tools))


def _table(source: str | None) -> str:
    """``profiles.p`` of a setting's source ``[profiles.p]`` (``[defaults]``: ``defaults``)."""
    return (source or "[defaults]").strip("[]")
