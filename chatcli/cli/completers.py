"""What shell completion offers for the options and arguments that name things, attached where
each is declared (Typer's ``autocompletion=``), so completion reads every value from the command
tree: Choice parameters complete their own choices, ``Path`` parameters complete files, and
these complete profiles, models, roles, sessions, templates, MCP servers and the files of the
options that also take a URL or ``-``.

Each runs on a Tab press only, reading the config file with tomllib and the store with one
query (``features.completion.values``, imported when called); any failure completes nothing.
Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from pathlib import Path

import typer

FILES = "file"
"""The help a completer gives one item to ask the shell to complete a path itself (the
protocol's ``file`` type, what a ``Path`` parameter's own completion answers)."""

Offer = list[str] | list[tuple[str, str]]


def config_file(ctx: typer.Context) -> Path | None:
    """The config file: a ``--config PATH`` typed before the value being completed, wherever it
    was, else CHATCLI_CONFIG or the platform default (None: none can be named)."""
    from chatcli.settings.paths import config_path

    node: typer.Context | None = ctx
    flag = None
    while node is not None and flag is None:
        value = node.params.get("config")
        flag = value if isinstance(value, str) else None
        parent = node.parent
        node = parent if isinstance(parent, typer.Context) else None
    try:
        return config_path(flag)[0]
    except (OSError, ValueError):
        return None


def profiles(ctx: typer.Context) -> list[str]:
    from chatcli.features.completion import values

    return values.profiles(config_file(ctx))


def models(ctx: typer.Context) -> list[str]:
    from chatcli.features.completion import values

    return values.models(config_file(ctx))


def roles(ctx: typer.Context) -> list[str]:
    from chatcli.features.completion import values

    return values.roles(config_file(ctx))


def templates(ctx: typer.Context) -> list[str]:
    from chatcli.features.completion import values

    return values.templates(config_file(ctx))


def template_variables(ctx: typer.Context) -> list[str]:
    """``VAR=`` for each variable of the ``--template`` typed before."""
    from chatcli.features.completion import values

    template = ctx.params.get("template")
    return values.template_variables(template if isinstance(template, str) else None,
                                     config_file(ctx))  # fmt: skip


def tools(ctx: typer.Context) -> list[str]:
    from chatcli.features.completion import values

    return values.tools(config_file(ctx))


def sessions() -> list[str]:
    from chatcli.features.completion import values

    return values.sessions()


def files(incomplete: str) -> Offer:
    """A path, completed by the shell."""
    return [(incomplete, FILES)]


def schemas(ctx: typer.Context, incomplete: str) -> Offer:
    """``@NAME`` of the config's ``[schemas]``, else a file."""
    from chatcli.features.completion import values

    if incomplete.startswith("@"):
        return values.schemas(config_file(ctx))
    return files(incomplete)


def image_sizes() -> list[str]:
    """The sizes the known image models take (any WIDTHxHEIGHT is accepted)."""
    from chatcli.features.completion import values

    return values.image_sizes()


def shell_keys() -> list[str]:
    """Keys ``shell-integration --key`` is often given (any alt-/ctrl-LETTER works)."""
    return ["alt-e", "ctrl-g"]
