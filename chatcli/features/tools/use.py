"""Tools in a conversation: the one way ``ask`` and the REPL open a toolbox and send a turn."""

from __future__ import annotations

from collections.abc import Callable, Generator

from chatcli.environment import Environment
from chatcli.events import Content, StreamEvent
from chatcli.features.tools.approval import TerminalAsk
from chatcli.features.tools.loop import turn
from chatcli.features.tools.toolbox import Toolbox, open_toolbox
from chatcli.session import ChatSession
from chatcli.settings.loading import Config
from chatcli.settings.resolve import ChatSettings


def open_for(
    settings: ChatSettings,
    config: Config,
    *,
    names: tuple[str, ...] | None = None,
    environment: Environment,
) -> Toolbox:
    """The toolbox of a conversation with ``settings`` (its tools on, or ``names``); calls
    are approved on the environment's terminal when stdin and stderr are both one, and it
    is ours to read (not from a background job, which the question would stop until
    ``fg``: there calls are refused as off a terminal)."""
    from chatcli.terminal import in_background

    env = environment
    terminal = None
    ours = env.stdin_isatty and env.stderr_isatty and not in_background(env.stdin)
    if env.stdin is not None and ours:
        terminal = TerminalAsk(env.stdin, env.stderr)
    profile = settings.profile
    box = open_toolbox(
        config.mcp_servers,
        (),
        approve=settings.approve,
        read_only=profile.auto_approve_read_only,
        timeout=profile.tool_timeout,
        output_limit=profile.tool_output_limit,
        max_rounds=settings.max_tool_rounds,
        encoding=settings.model_info(settings.model).tokenizer,
        terminal=terminal,
    )
    try:  # one name at a time: a bad one from the config is said as such (exit 3)
        for name in settings.tools if names is None else names:
            with settings.from_config("tools", name):
                box.enable([name])
        for name in settings.approve:
            with settings.from_config("auto_approve", name):
                box.check_approvals([name])
    except BaseException:
        box.close()
        raise
    return box


def send(
    session: ChatSession,
    content: Content | None,
    box: Toolbox,
    before_round: Callable[[], None] | None = None,
    *,
    retry: bool = False,
) -> Generator[StreamEvent, None, None]:
    """A whole turn with the toolbox's tools on (``retry``: resend the last message)."""
    specs = box.specs()
    first = session.retry(tools=specs) if retry else session.send(content, tools=specs)
    return turn(session, first, box, before_round)
