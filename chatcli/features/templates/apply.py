"""Using a template in ``ask`` and ``chat``: its settings under the flags, its prompt around
the user's words.

The template's system prompt, model and temperature are defaults that ``-s``/``-r``, ``-m``
and ``-t`` override; on a continued session they apply to this run's requests and leave the
session's own model and prompt as they were (``ChatSettings.kept``), where ``-m`` and ``-s``
switch it. Its tools are added to ``-T`` (``-T none`` turns them off too). Its
prompt wraps what the user gives: the words and piped text become ``{{input}}`` when the prompt
uses it, and are appended after the prompt otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

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
    from chatcli.inputs import UserInput


@dataclass(frozen=True)
class Applied:
    """A template in use, with the values of its variables."""

    template: Template
    values: dict[str, str]
    unused: tuple[str, ...] = ()  # -V names the template does not use (likely a typo)

    def schema_spec(self) -> str | None:
        """The template's schema as a ``--schema`` SPEC (a table becomes inline JSON)."""
        schema = self.template.schema
        if isinstance(schema, dict):
            import json

            from chatcli.errors import ConfigError

            try:
                return json.dumps(schema, allow_nan=False)
            except (TypeError, ValueError) as exc:  # a TOML date, nan or inf: not JSON
                raise ConfigError(
                    f"template {self.template.name!r} ({self.template.where}): its schema holds"
                    f" a value JSON cannot carry ({exc})",
                    hint="write dates as strings, and numbers as finite numbers",
                ) from None
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


def apply(
    run: Invocation, flags: ChatFlags, name: str, pairs: list[str]
) -> tuple[Invocation, ChatFlags, Applied]:
    """The invocation and chat flags with template ``name``'s settings under them."""
    template = load(run.config, name)
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
