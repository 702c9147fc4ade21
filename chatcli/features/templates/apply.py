"""Using a template in ``ask`` and ``chat``: its settings under the flags, its prompt around
the user's words.

The template's system prompt, model and temperature are defaults that ``-s``/``-r``, ``-m``
and ``-t`` override; on a continued session they apply to this run's requests and leave the
session's own model and prompt as they were (``ChatSettings.kept``), where ``-m`` and ``-s``
switch it. Its tools are added to ``-T`` (``-T none`` turns them off too). Its
prompt wraps what the user gives: the words and piped text become ``{{input}}`` when the prompt
uses it, and are appended after the prompt otherwise.

A template that loads may still be one a use refuses (``problems``): its schema cannot be used
(checked as ``--schema`` checks one, a relative file read beside the template), it names a tool
of no configured MCP server, or it has a schema and tools. Each is a configuration error
naming the template (exit 3), the same at a use, in ``templates list``/``show`` (marked broken)
and in ``config validate``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from chatcli.errors import ChatcliError, ConfigError
from chatcli.features.templates.library import (
    INPUT,
    Template,
    fill,
    load,
    parse_vars,
    unknown_vars,
)
from chatcli.settings.resolve import ChatFlags, Invocation

if TYPE_CHECKING:
    from chatcli.features.schema.spec import Schema
    from chatcli.inputs import UserInput
    from chatcli.settings.loading import Config


@dataclass(frozen=True)
class Applied:
    """A template in use, with the values of its variables."""

    template: Template
    values: dict[str, str]
    unused: tuple[str, ...] = ()  # -V names the template does not use (likely a typo)

    def schema(
        self, config: Config, tools: tuple[str, ...], *, multi: bool = False
    ) -> Schema | None:
        """The template's schema (``--schema-multi``: a list of its records), ``tools`` the
        run's (``-T none`` turns the template's off); a ConfigError naming the template when it
        cannot be used, or comes with the template's tools."""
        schema = template_schema(config, self.template, multi=multi)
        if schema is not None and self.template.tools and "none" not in tools:
            raise _broken(self.template, "schema", *SCHEMA_WITH_TOOLS)
        return schema

    def wrap(self, message: UserInput) -> None:
        """Put the template's prompt around ``message``'s text (attachments stay as they are)."""
        prompt = self.template.prompt
        if prompt is None:
            if not message.text.strip():
                raise_empty(self.template)
            return
        given = message.text
        if self.template.uses_input():
            values = {**self.values, INPUT: given} if given.strip() else self.values
            message.texts[:] = [fill(prompt, values, self.template)]
        else:
            message.texts[:] = [fill(prompt, self.values, self.template), *message.texts]


def raise_empty(template: Template) -> None:
    from chatcli.errors import UsageError

    raise UsageError(
        f"template {template.name!r} has no prompt: give one, or pipe text in",
        hint=f'chatcli ask --template {template.name} "your question"',
    )


SCHEMA_WITH_TOOLS = (
    "a schema and tools cannot be used together yet (--schema with -T is refused)",
    "remove one of them; -T none turns the tools off for one run",
)


def _broken(template: Template, key: str, detail: str, hint: str | None) -> ConfigError:
    return ConfigError(f"template {template.name!r} ({template.where}): {key}: {detail}", hint=hint)


def template_schema(config: Config, template: Template, *, multi: bool = False) -> Schema | None:
    """``template``'s schema, loaded and checked as ``--schema`` is (a relative file name read
    from the template's own folder: its file's, or the config's for a ``[templates.NAME]``),
    or None; a ConfigError naming the template when it cannot be used."""
    if template.schema is None:
        return None
    from chatcli.features.schema import spec
    from chatcli.features.schema.check import check_schema

    try:
        if isinstance(template.schema, dict):  # the JSON Schema written as TOML keys
            check_schema(template.schema, "the table")
            return spec.made(template.schema, "the table", template.name, multi=multi)
        return spec.load(template.schema, config.schemas, multi=multi,
                         config_dir=config.path.parent, base=template.folder)  # fmt: skip
    except ChatcliError as exc:
        raise _broken(template, "schema", exc.message.removeprefix("--schema: "),
                      exc.hint) from None  # fmt: skip


def problems(config: Config, template: Template) -> list[tuple[str, str, str | None]]:
    """What a use of ``template`` (which loads) refuses, as (key, detail, hint): a tool of no
    configured MCP server, a schema that cannot be used, a schema together with tools."""
    found: list[tuple[str, str, str | None]] = []
    tools = [t for t in template.tools if t != "none"]
    for tool in tools:
        found.extend(_unknown_server(config, tool))
    try:
        schema = template_schema(config, template)
    except ConfigError as exc:
        prefix = f"template {template.name!r} ({template.where}): schema: "
        return [*found, ("schema", exc.message.removeprefix(prefix), exc.hint)]
    if schema is not None and tools:
        found.append(("schema", *SCHEMA_WITH_TOOLS))
    return found


def _unknown_server(config: Config, tool: str) -> list[tuple[str, str, str | None]]:
    """The problem of a template's ``tool`` whose server is not configured (none for one that
    is, or ``none``)."""
    server = tool.partition(".")[0]
    if tool == "none" or server in config.mcp_servers:
        return []
    named = f" (in {tool!r})" if tool != server else ""
    servers = ", ".join(sorted(config.mcp_servers)) or "none configured"
    detail = f"no MCP server named {server!r}{named} (servers: {servers})"
    return [("tools", detail, f"add [mcp.servers.{server}] to the config, or fix the name")]


def apply(
    run: Invocation, flags: ChatFlags, name: str, pairs: list[str]
) -> tuple[Invocation, ChatFlags, Applied]:
    """The invocation and chat flags with template ``name``'s settings under them; a
    ConfigError naming the template for a tool of no configured MCP server (its schema is
    checked where it is used: ``Applied.schema``)."""
    template = load(run.config, name)
    if "none" not in flags.tools:  # -T none turns the template's tools off
        for tool in template.tools:
            for key, detail, hint in _unknown_server(run.config, tool):
                raise _broken(template, key, detail, hint)
    values = parse_vars(pairs)
    if flags.system is None and flags.role is None and template.system is not None:
        system_values = {k: v for k, v in values.items() if k != INPUT}
        filled = fill(template.system, system_values, template)
        flags = replace(flags, template_system=filled)
    if flags.temperature is None and template.temperature is not None:
        flags = replace(flags, temperature=template.temperature)
    if template.tools and "none" not in flags.tools:  # -T none turns the template's off too
        flags = replace(flags, tools=tuple(dict.fromkeys((*template.tools, *flags.tools))))
    if template.model is not None:  # under -m (resolve_chat)
        flags = replace(flags, template_model=template.model)
    if template.prompt is not None:
        # every variable but {{input}} must have a value now, before anything is read or sent
        fill(template.prompt, {**values, INPUT: ""}, template)
    return run, flags, Applied(template, values, tuple(unknown_vars(template, values)))
