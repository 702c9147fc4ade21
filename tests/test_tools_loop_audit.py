"""Audit 7 (tools), findings 2, 4, 5, 13, 14, 15, 16 and 18: parallel calls sent at one
``index`` are several calls, duplicate call ids are made unique before they are stored, a 400
about the history of calls gets no "does not take function calling" hint, a half surrogate
pair in the arguments never reaches (and kills) a stdio server, the text before a call is on
screen before its question, the card fits the terminal and ``v`` shows the whole call, the
round bound is exit 5, a call stopped while running says it may have had effects, and the
small things of the call lines. Our own MCP server (``tests/fakes/mcp_tools.py``) over stdio;
the terminal cases run the real CLI on a pseudo-terminal read back through pyte."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import chatcli_argv, fake_env, run_cli
from tests.fakes import Error, FakeOpenAI, Raw, Reply
from tests.render_helpers import Terminal, collect
from tests.tools_helpers import ROOT, own_server

pytestmark = pytest.mark.external  # our MCP server, a process of its own

RUNNING = "interrupted while running (it may have had effects)"
QUESTION = "run it? [y]es, [N]o, [a]lways this tool: "


@pytest.fixture
def env(tmp_path: Path, fake: FakeOpenAI) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(own_server("t"))
    return fake_env(tmp_path, fake)


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def results_sent(body: dict[str, Any]) -> list[str]:
    """The tool results a chat request carries, in order."""
    return [m["content"] for m in body["messages"] if m.get("role") == "tool"]


def answered(messages: list[dict[str, Any]]) -> bool:
    """Every call of the history has exactly one result (what an endpoint insists on)."""
    asked = [c["id"] for m in messages for c in m.get("tool_calls") or []]
    results = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    return len(set(asked)) == len(asked) and sorted(asked) == sorted(results)


BASE = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "qwen2.5"}


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {**BASE, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def piece(index: int, call_id: str, name: str, arguments: str) -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    return {"index": index, "id": call_id, "type": "function", "function": function}


def streamed(*pieces: dict[str, Any], text: str = "") -> Raw:
    """A streamed answer whose calls come one per chunk, as the server numbered them (it
    asks for them whatever ``tool_choice`` says, as some endpoints do)."""
    head = [chunk({"role": "assistant", "content": text})] if text else []
    calls = [chunk({"role": "assistant", "tool_calls": [p]}) for p in pieces]
    return Raw(content_type="text/event-stream", chunks=[*head, *calls, chunk({}, "tool_calls")])


# --- 2: every call of a parallel batch at index 0 ------------------------------------------


def test_streamed_calls_at_one_index_with_their_own_ids_are_two_calls(
    fake: FakeOpenAI, env: dict[str, str]
) -> None:
    fake.script(
        streamed(
            piece(0, "call_a", "t__echo", '{"text":'),  # Ollama: index 0 for each call
            {"index": 0, "id": "call_x", "function": {"arguments": '"A"}'}},  # a piece of it
            piece(0, "call_b", "t__add", '{"a":1,'),  # named with its own id: the next call
            {"index": 0, "function": {"arguments": '"b":2}'}},
        )
    )
    r = run_cli("ask", "-T", "t", "--approve", "t", "two calls", env=env)
    assert r.returncode == 0, r.stderr
    second = fake.chat_requests()[1].json
    assert [c["id"] for c in second["messages"][1]["tool_calls"]] == ["call_a", "call_b"]
    assert results_sent(second) == ["echo: A", "3"]
    assert '⚙ t.echo {"text": "A"} → 1 line' in r.stderr
    assert '⚙ t.add {"a": 1, "b": 2} → 1 line' in r.stderr


def test_a_whole_message_takes_its_calls_by_position_not_index(
    fake: FakeOpenAI, env: dict[str, str]
) -> None:
    calls = [
        piece(0, "call_a", "t__echo", '{"text":"A"}'),
        piece(0, "call_b", "t__add", '{"a":1,"b":2}'),
    ]
    message = {"role": "assistant", "content": None, "tool_calls": calls}
    body = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "qwen2.5",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
    }
    fake.script(Raw(body=json.dumps(body)))
    r = run_cli("ask", "--no-stream", "-T", "t", "--approve", "t", "two calls", env=env)
    assert r.returncode == 0, r.stderr
    assert results_sent(fake.chat_requests()[1].json) == ["echo: A", "3"]


def response_event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def function_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def test_responses_calls_at_one_output_index_without_item_ids_are_two_calls(
    fake: FakeOpenAI, env: dict[str, str]
) -> None:
    """The Responses stream keys calls by item id, else by ``output_index``: a gateway that
    sends neither apart (every item at 0, no ids) still gives two calls."""
    fake.responses = True
    response = {"id": "resp_1", "object": "response", "model": "gpt-4o-mini"}
    events = [response_event("response.created", response={**response, "status": "in_progress"})]
    for call_id, name, arguments in [("call_a", "t__echo", '{"text":"A"}'),
                                     ("call_b", "t__add", '{"a":1,"b":2}')]:  # fmt: skip
        events += [
            response_event(
                "response.output_item.added", output_index=0, item=function_call(call_id, name, "")
            ),
            response_event(
                "response.function_call_arguments.delta", output_index=0, delta=arguments
            ),
            response_event(
                "response.output_item.done",
                output_index=0,
                item=function_call(call_id, name, arguments),
            ),
        ]
    events.append(
        response_event("response.completed", response={**response, "status": "completed"})
    )
    fake.script(Raw(content_type="text/event-stream", chunks=events))
    r = run_cli("ask", "-T", "t", "--approve", "t", "two calls", env=env)
    assert r.returncode == 0, r.stderr
    second = fake.responses_requests()[1].json
    outputs = [i for i in second["input"] if i.get("type") == "function_call_output"]
    assert [(o["call_id"], o["output"]) for o in outputs] == [
        ("call_a", "echo: A"),
        ("call_b", "3"),
    ]


# --- 4: duplicate call ids; a 400 about the history is not "no function calling" -----------


def test_duplicate_call_ids_are_made_unique_before_they_are_stored(
    fake: FakeOpenAI, env: dict[str, str]
) -> None:
    fake.script(
        streamed(
            piece(0, "call_0", "t__echo", '{"text":"A"}'),
            piece(1, "call_0", "t__echo", '{"text":"B"}'),  # the same id twice
        )
    )
    r = run_cli("ask", "-T", "t", "--approve", "t", "--session", "dup", "two", env=env)
    assert r.returncode == 0, r.stderr  # the fake, like OpenAI, refuses a result answering twice
    second = fake.chat_requests()[1].json
    ids = [c["id"] for c in second["messages"][1]["tool_calls"]]
    assert ids[0] == "call_0" and len(set(ids)) == 2
    assert results_sent(second) == ["echo: A", "echo: B"]
    again = run_cli("ask", "--session", "dup", "go on", env=env)  # the stored history is valid
    assert again.returncode == 0, again.stderr
    assert answered(fake.chat_requests()[-1].json["messages"])


def test_a_400_about_tool_messages_is_not_called_a_refusal_of_tools(
    fake: FakeOpenAI, env: dict[str, str]
) -> None:
    history = (
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
        "message with 'tool_calls' (tool_call_id 'call_0')."
    )
    fake.script(Error(400, history, type="invalid_request_error"))
    r = run_cli("ask", "-T", "t", "hi", env=env)
    assert r.returncode == 5
    assert "tool_call_id 'call_0'" in r.stderr
    assert "refused the tools" not in r.stderr
    assert "does not take function calling" not in r.stderr
    fake.script(Error(400, "registry.ollama.ai/library/gemma:2b does not support tools"))
    r = run_cli("ask", "-T", "t", "hi", env=env)  # a real refusal still gets its hint
    assert r.returncode == 5
    assert "hint: this endpoint or model does not take function calling" in r.stderr


# --- 5: half a surrogate pair in the arguments --------------------------------------------


def test_a_lone_surrogate_in_arguments_is_repaired_and_the_server_stays_up(
    fake: FakeOpenAI, env: dict[str, str]
) -> None:
    escaped = piece(0, "call_s", "t__echo", '{"text":"smile \\ud83d"}')  # a JSON escape
    raw = chunk({"role": "assistant", "tool_calls": [piece(0, "call_r", "t__echo", "")]})
    raw["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = '{"text":"raw \ud83d"}'
    fake.script(
        streamed(escaped),
        Raw(content_type="text/event-stream", chunks=[json.dumps(raw), chunk({}, "tool_calls")]),
        Reply(tool_calls=[call("t__echo", text="plain text")]),
    )
    r = run_cli("ask", "-T", "t", "--approve", "t", "x", env=env)
    assert r.returncode == 0, r.stderr
    requests = fake.chat_requests()
    assert results_sent(requests[1].json) == ["echo: smile \ufffd"]
    assert results_sent(requests[2].json)[-1] == "echo: raw \ufffd"  # escaped in the stream
    assert results_sent(requests[3].json)[-1] == "echo: plain text"  # the server is still up
    assert "stopped" not in r.stderr


# --- 15: the round bound -------------------------------------------------------------------


def test_the_round_bound_reached_is_exit_5_naming_it_and_the_turn_is_kept(
    fake: FakeOpenAI, env: dict[str, str]
) -> None:
    def asking(n: int, text: str = "") -> Raw:
        return streamed(piece(0, f"call_{n}", "t__add", json.dumps({"a": n, "b": 1})), text=text)

    fake.script(asking(1), asking(2), asking(3, text="I keep asking."))
    r = run_cli("ask", "-T", "t", "--approve", "t", "--max-tool-rounds", "1", "go", env=env)
    assert r.returncode == 5, r.stderr
    assert r.stdout == "I keep asking.\n"  # what was said is kept
    (error,) = [line for line in r.stderr.splitlines() if line.startswith("chatcli: error:")]
    assert "still asked for tools after 1 tool round (--max-tool-rounds 1)" in error
    assert "--max-tool-rounds N" in error
    assert [q.json.get("tool_choice") for q in fake.chat_requests()] == [None, None, "none"]
    again = run_cli("ask", "-c", "and now?", env=env)
    assert again.returncode == 0, again.stderr
    assert answered(fake.chat_requests()[-1].json["messages"])

    fake.script(asking(4), asking(5), asking(6))
    r = run_cli("ask", "-T", "t", "--approve", "t", "--max-tool-rounds", "1", "--json", "go",
                env=env)  # fmt: skip
    assert r.returncode == 5
    out = json.loads(r.stdout)
    assert out["answer"] == "" and "--max-tool-rounds 1" in out["error"]


# --- 16: Ctrl-C or SIGTERM while a call runs; 13, 14, 18: on a terminal ---------------------


class PtyRun:
    """``chatcli ARGS`` with a pseudo-terminal of ``columns`` x ``lines`` as its stdin, stdout
    and stderr; what it writes is collected and replayed through pyte."""

    def __init__(self, args: list[str], env: dict[str, str], columns: int, lines: int) -> None:
        self.columns, self.lines = columns, lines
        self.master, slave = pty.openpty()
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.proc = subprocess.Popen(
            chatcli_argv(*args), stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
            env={**env, "TERM": "xterm-256color"},
        )  # fmt: skip
        os.close(slave)
        self.received, self._reader = collect(self.master)

    def text(self) -> str:
        return bytes(self.received).decode("utf-8", "replace")

    def wait_for(self, wanted: str, *, count: int = 1, timeout: float = 90) -> Terminal:
        """The terminal once ``wanted`` was written ``count`` times."""
        deadline = time.monotonic() + timeout
        while self.text().count(wanted) < count:
            assert self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.05)
        return self.terminal()

    def terminal(self) -> Terminal:
        term = Terminal(self.columns, self.lines)
        term.stream.feed(self.text())  # the pty turned each LF into CR LF already
        return term

    def keys(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def exit_code(self, timeout: float = 90) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            self._reader.join(timeout=5)
            os.close(self.master)
        return code


@pytest.fixture
def terminal_runs() -> Iterator[list[PtyRun]]:
    runs: list[PtyRun] = []
    yield runs
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def on_terminal(
    runs: list[PtyRun], env: dict[str, str], *args: str, columns: int = 100, lines: int = 30
) -> PtyRun:
    run = PtyRun(list(args), env, columns, lines)
    runs.append(run)
    return run


@pytest.mark.process
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_call_stopped_while_running_may_have_had_effects(
    fake: FakeOpenAI, env: dict[str, str], terminal_runs: list[PtyRun], signum: int, code: int
) -> None:
    fake.script(Reply(text="Sleeping now.", tool_calls=[call("t__slow", seconds=60)]))
    run = on_terminal(terminal_runs, env, "ask", "-T", "t", "--approve", "t", "--session", "s",
                      "go")  # fmt: skip
    run.wait_for("running t.slow… (Ctrl-C stops the turn)")
    run.proc.send_signal(signum)
    assert run.exit_code() == code
    shown = run.terminal().transcript()
    assert any(ln.startswith("⚙ t.slow") and f"→ {RUNNING}" in ln for ln in shown), shown
    exported = run_cli("sessions", "export", "s", "--format", "json", env=env)
    messages = json.loads(exported.stdout)["messages"]
    result = messages[-1]
    assert result["content"].startswith(f"{RUNNING}: ")  # not "not run"
    assert result["tool"]["interrupted"] == "while running"
    shown_later = run_cli("sessions", "show", "s", env=env).stdout
    assert "Tool result: t.slow (interrupted while running)" in shown_later, shown_later


def test_the_repl_says_which_calls_ran_and_which_did_not() -> None:
    from chatcli.features.tools.loop import INTERRUPTED, INTERRUPTED_RUNNING, stopped_at_calls
    from chatcli.features.tools.toolbox import CallRecord

    calls = [
        CallRecord("t.slow", "{}", INTERRUPTED_RUNNING, 2.0, True, "auto", True),
        CallRecord("t.remove", "{}", INTERRUPTED, None, False, "not run", True),
    ]
    assert stopped_at_calls(calls) == (
        f"interrupted: t.slow was {RUNNING}; t.remove was not run; no reply was given "
        "(kept as interrupted)"
    )
    assert stopped_at_calls(calls[:1]).startswith(f"interrupted: t.slow was {RUNNING};")


@pytest.mark.parametrize("markdown", ["auto", "never"])
def test_the_text_before_a_call_is_on_screen_before_its_question(
    fake: FakeOpenAI, env: dict[str, str], terminal_runs: list[PtyRun], markdown: str
) -> None:
    said = "I am going to remove the build folder, **not** your home."
    fake.script(
        Reply(text=f"- first\n- second\n\n{said}", tool_calls=[call("t__remove", path="/x")]),
        Reply(text="Done."),
    )
    run = on_terminal(terminal_runs, env, "ask", "--markdown", markdown, "-T", "t", "go")
    asked = run.wait_for(QUESTION).transcript()
    shown = said if markdown == "never" else said.replace("**", "")
    head = "⚙ the model wants to run t.remove  [destructive]"
    assert shown in asked and head in asked, asked  # the text and the card, each a line
    assert asked.index(shown) < asked.index(head)
    run.keys("y")
    assert run.exit_code() == 0
    lines = [ln for ln in run.terminal().transcript() if ln.strip()]
    order = [
        next(i for i, ln in enumerate(lines) if "second" in ln),
        lines.index(shown),
        lines.index(head),
        lines.index(QUESTION + "yes"),
        next(i for i, ln in enumerate(lines) if ln.startswith('⚙ t.remove {"path": "/x"} → ')),
        lines.index("Done."),
    ]
    assert order == sorted(order), lines
    assert not any("running t.remove" in ln for ln in lines), lines  # it was replaced


def test_the_card_keeps_its_heading_on_a_short_terminal_and_v_shows_the_whole_call(
    fake: FakeOpenAI, env: dict[str, str], terminal_runs: list[PtyRun]
) -> None:
    path = "/tmp/cache/" + "./" * 200 + "../../../home/me"
    extra = {f"k{i}": i for i in range(30)}
    fake.script(Reply(text="Cleaning.", tool_calls=[call("t__remove", path=path, **extra)]))
    run = on_terminal(terminal_runs, env, "ask", "-T", "t", "clean", columns=80, lines=12)
    head = "⚙ the model wants to run t.remove  [destructive]"
    screen = run.wait_for(QUESTION).visible()
    assert head in screen, screen  # not pushed off the top
    assert screen[-1].startswith(QUESTION.rstrip()), screen
    assert "v shows the whole call" in "\n".join(screen)
    run.keys("v")
    run.wait_for(QUESTION, count=2)
    shown = run.terminal().transcript()
    joined = "".join(ln.strip() for ln in shown)  # the long value wraps over rows
    assert path.replace(" ", "") in joined  # the hidden end: ../../../home/me
    assert '"k29": 29' in "\n".join(shown)
    run.keys("n")
    assert run.exit_code() == 0
    lines = run.terminal().transcript()
    assert QUESTION + "view" in lines and QUESTION + "no" in lines
    assert lines.count(head) == 2  # asked again under the whole call
    assert results_sent(fake.chat_requests()[1].json) == ["the user declined to run this tool call"]


# --- 18: the small things -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_help_shows_the_schema_brackets(env: dict[str, str], command: str) -> None:
    r = run_cli(command, "--help", env=env)
    assert r.returncode == 0, r.stderr
    words = " ".join(r.stdout.replace("│", " ").split())
    assert "@NAME from [schemas.NAME], or fields 'name, age int, tags list[str]," in words


def test_call_lines_say_each_thing_once_with_the_tools_own_name(
    fake: FakeOpenAI, env: dict[str, str]
) -> None:
    fake.script(
        Reply(
            tool_calls=[
                {"name": "t__echo", "arguments": '{"text": "unterminated'},
                call("t__add", a=1, b=2),  # a tool of the server that is not on
                call("t__crash"),  # the server dies: the call's result says so
            ]
        )
    )
    r = run_cli("ask", "-T", "t.echo", "-T", "t.crash", "--approve", "t", "go", env=env)
    assert r.returncode == 0, r.stderr
    bad_json, not_on, dead = results_sent(fake.chat_requests()[1].json)
    assert bad_json == (
        "the arguments are not valid JSON (Unterminated string starting at character 9)"
    )
    assert "at at" not in r.stderr
    assert not_on.startswith("there is no tool 't__add'")
    assert '⚙ t.add {"a": 1, "b": 2} → refused: there is no tool \'t__add\'' in r.stderr
    assert "⚙ t__add" not in r.stderr
    assert dead.startswith("error: MCP server t ")
    (line,) = [ln for ln in r.stderr.splitlines() if ln.startswith("⚙ t.crash")]
    assert "→ error: MCP server t " in line and "error: error:" not in r.stderr


def test_the_answer_so_far_is_printed_for_good_before_a_line_of_the_calls() -> None:
    """``MarkdownStream.commit``: what arrived, its unfinished block too, is printed for
    good, so a line written next (a call's card) comes below it, and the answer goes on."""
    from chatcli.render import MarkdownStream

    master, slave_fd = pty.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    slave = open(slave_fd, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    received, reader = collect(master)
    with MarkdownStream(slave) as stream:
        stream.feed("- one\n- two\n\nthe last words before")
        stream.feed(" the call")
        stream.commit()
        slave.write("⚙ the card\n")
        slave.flush()
        stream.feed("\n\nafter the call")
    slave.close()
    reader.join(timeout=5)
    os.close(master)
    term = Terminal(100, 30)
    term.stream.feed(bytes(received).decode())
    lines = [ln.strip() for ln in term.transcript() if ln.strip()]
    assert lines == ["• one", "• two", "the last words before the call", "⚙ the card",
                     "after the call"]  # fmt: skip
