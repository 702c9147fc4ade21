"""Typer options shared by several commands: the global ones every command takes (-p, -m,
--config, --debug) and those of the chatting commands, declared once.

Kept free of heavy imports: this module is loaded for ``chatcli --help``.
"""

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from chatcli.cli import completers
from chatcli.environment import ENVIRONMENT, Environment
from chatcli.settings.choices import MarkdownMode, ReasoningEffort
from chatcli.settings.options import Globals

ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--profile",
        help="Profile from the config (default: default_profile, or the file's only one).",
        show_default=False,
        autocompletion=completers.profiles,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "-m",
        "--model",
        help="Model name or alias.",
        show_default=False,
        autocompletion=completers.models,
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        help="Config file to use (must exist, except for config init/set, which create it).",
        show_default=False,
        autocompletion=completers.files,
    ),
]
DebugOpt = Annotated[
    bool,
    typer.Option("--debug", help="Tracebacks and HTTP details on stderr (keys redacted)."),
]


def check_finite(value: float | None) -> float | None:
    """Click's range check lets ``nan`` through (every comparison with it is false)."""
    if value is not None and value != value:
        raise typer.BadParameter("must be a number between 0 and 2, not nan")
    return value


SystemOpt = Annotated[str | None, typer.Option("-s", "--system", help="System prompt.")]
RoleOpt = Annotated[
    str | None,
    typer.Option("-r", "--role", help="Named role from config.", autocompletion=completers.roles),
]
TemperatureOpt = Annotated[
    float | None,
    typer.Option("-t", "--temperature", min=0.0, max=2.0, callback=check_finite, help="0 to 2."),
]
MaxTokensOpt = Annotated[
    int | None, typer.Option("--max-tokens", min=1, help="Longest reply in tokens.")
]
MarkdownOpt = Annotated[
    MarkdownMode | None,
    typer.Option("--markdown", help="Render Markdown (auto: only on a terminal)."),
]
ContinueOpt = Annotated[
    bool, typer.Option("-c", "--continue", help="Continue the latest conversation.")
]
SessionOpt = Annotated[
    str | None,
    typer.Option(
        "--session",
        help="Continue or create this session.",
        autocompletion=completers.sessions,
    ),
]
NoLogOpt = Annotated[
    bool, typer.Option("--no-log", help="Store nothing of this conversation (usage still counted).")
]
ToolOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-T",
        "--tool",
        help="Let the model call this MCP server's tools, or one server.tool (repeatable; "
        "'none' turns the profile's default tools off).",
        show_default=False,
        autocompletion=completers.tools,
    ),
]
ApproveOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--approve",
        help="Run this server.tool (or server) without asking (repeatable).",
        show_default=False,
        autocompletion=completers.tools,
    ),
]
ReasoningOpt = Annotated[
    ReasoningEffort | None,
    typer.Option(
        "--reasoning",
        help="How hard a reasoning model thinks.",
        show_default=False,
    ),
]


def check_service_tier(value: str | None) -> str | None:
    """An empty tier would be left out of the request without a word: refuse it."""
    if value is not None and not value.strip():
        from chatcli.errors import UsageError

        raise UsageError("--service-tier needs a tier name, not an empty one",
                         hint="flex, priority or default; leave the option out for the "
                         "endpoint's own")  # fmt: skip
    return value.strip() if value is not None else None


ServiceTierOpt = Annotated[
    str | None,
    typer.Option(
        "--service-tier",
        help="Processing tier where the endpoint offers them (flex, priority, default).",
        show_default=False,
        callback=check_service_tier,
    ),
]
MaxToolRoundsOpt = Annotated[
    int | None,
    typer.Option(
        "--max-tool-rounds", min=1, max=100, help="Most rounds of tool calls per turn (8)."
    ),
]


def check_template(ctx: typer.Context, value: str | None) -> str | None:
    """``-V`` fills a template's variables: without ``--template`` it would be dropped without
    a word. Click runs this after every option given (an option not given comes last), so
    ``-V`` is in ``ctx.params`` whenever ``--template`` is missing."""
    if value is None and ctx.params.get("var"):
        from chatcli.errors import UsageError

        raise UsageError(
            "-V/--var fills the variables of a template, and no --template was given",
            hint="add --template NAME (`chatcli templates list` shows them), or drop -V",
        )
    return value


TemplateOpt = Annotated[
    str | None,
    typer.Option(
        "--template",
        help="Prompt template (chatcli templates list).",
        show_default=False,
        autocompletion=completers.templates,
        callback=check_template,
    ),
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-V",
        "--var",
        help="A template variable: KEY=VALUE (repeatable).",
        show_default=False,
        autocompletion=completers.template_variables,
    ),
]
SchemaOpt = Annotated[
    str | None,
    typer.Option(
        "--schema",
        # Rich reads help text as markup: a bracket that opens a tag is escaped (``\\[``).
        help="Answer with JSON valid against SPEC: a JSON Schema file, inline JSON, @NAME from "
        "\\[schemas.NAME], or fields 'name, age int, tags list\\[str], bio: description'.",
        show_default=False,
        autocompletion=completers.schemas,
    ),
]
SchemaMultiOpt = Annotated[
    bool, typer.Option("--schema-multi", help='A list of such records: {"items": [...]}.')
]
OverBudgetOpt = Annotated[
    bool, typer.Option("--over-budget", help="Go on although a budget is spent.")
]


_GLOBALS = {
    "profile": (ProfileOpt, None),
    "model": (ModelOpt, None),
    "config": (ConfigOpt, None),
    "debug": (DebugOpt, False),
}


def environment_of(ctx: typer.Context) -> Environment:
    """The command's environment, as ``__main__.run`` handed it down in ``ctx.meta``."""
    env: Environment = ctx.meta[ENVIRONMENT]
    return env


def global_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the global options (after its own, as the README writes them) and pass them
    on as one keyword argument ``g: Globals``, so no command declares or bundles them itself;
    a command with a keyword-only ``environment`` parameter also receives the command's
    ``Environment`` there (its streams, terminals and clock, made once in ``__main__``).

    The same options written before the command (``chatcli -p relay ask``) are kept by the root
    callback in ``ctx.obj``; those after the command win."""
    signature = inspect.signature(command)
    wants_environment = "environment" in signature.parameters
    own = [p for p in signature.parameters.values() if p.name not in ("g", "environment")]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, (kind, default) in _GLOBALS.items()
    ]
    context = inspect.Parameter("_ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        ctx: typer.Context = kwargs.pop("_ctx")
        g = Globals(*(kwargs.pop(name, default) for name, (_, default) in _GLOBALS.items()))
        outer = ctx.find_object(Globals)
        g = g.under(outer) if outer is not None else g
        _config_named_exists(g, ctx.command_path)
        if wants_environment:
            kwargs["environment"] = environment_of(ctx)
        command(*args, g=g, **kwargs)

    params = [*own, *added, context]
    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


_WRITES_CONFIG = ("config init", "config set")
"""The commands that create the file ``--config`` names; every other one needs it to exist."""


def _config_named_exists(g: Globals, command_path: str) -> None:
    """``--config PATH`` naming no file is exit 3 for every command (SPEC), also for those that
    never read the config (``sessions``, ``usage``): the user meant another file."""
    from chatcli.settings import paths

    if not g.config or command_path.endswith(_WRITES_CONFIG):
        return
    path = paths.expand(g.config)
    if not paths.exists(path):
        from chatcli.errors import ConfigError

        raise ConfigError(f"config file {path} does not exist", hint="check the --config path")


def show_help_if_bare(ctx: typer.Context) -> None:
    """A group called without a command prints its help and exits 0 (Typer's own
    ``no_args_is_help`` reports it as a usage error); a ``--config`` naming no file is exit
    3 there too, as on every command."""
    if ctx.invoked_subcommand is None:
        g = ctx.find_object(Globals)
        if g is not None:
            _config_named_exists(g, ctx.command_path)
        text = ctx.get_help()  # Typer's Rich help prints itself and returns ""
        if text:
            from chatcli.output import out

            out(environment_of(ctx), text + "\n")
        raise typer.Exit()


def group(help: str) -> typer.Typer:
    """A command group (``sessions``, ``config``) that shows its help when called bare."""
    app = typer.Typer(help=help, invoke_without_command=True)
    app.callback()(show_help_if_bare)
    return app
