"""``chatcli usage [--since YYYY-MM-DD] [--by day|model|profile|command] [--json]``.

Totals come from the usage log, which records every request (ask, chat, interrupted ones too).
A model without a known price has cost ``null``, never 0: a total that includes such a request
is shown as a lower bound ("≥ $0.012").
"""

from datetime import date
from enum import StrEnum
from typing import Annotated

import typer

from chatcli.cli.common import global_options
from chatcli.environment import Environment
from chatcli.settings.options import Globals


def _since(value: str | None) -> str | None:
    if value is not None:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a date like 2026-11-01") from None
    return value


class Grouping(StrEnum):
    """What ``usage --by`` groups the log by."""

    DAY = "day"
    MODEL = "model"
    PROFILE = "profile"
    COMMAND = "command"


@global_options
def usage(
    since: Annotated[
        str | None, typer.Option("--since", callback=_since, help="First day (YYYY-MM-DD).")
    ] = None,
    by: Annotated[
        Grouping, typer.Option("--by", help="What to group the totals by.")
    ] = Grouping.DAY,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Requests, tokens and cost from the usage log."""
    from chatcli.errors import ChatcliError
    from chatcli.features.usage.report import report
    from chatcli.settings.resolve import load_config
    from chatcli.store.db import reading_only

    try:  # prices set since a request was logged count it; a broken config shows the log
        model_info = load_config(g).model_info
    except ChatcliError:
        model_info = None
    with reading_only():  # a display: a read-only or full data dir is still read
        report(environment, date.fromisoformat(since) if since else None, str(by), json_out,
               model_info)  # fmt: skip
