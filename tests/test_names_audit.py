"""Names and totals in any script: ``mcp import`` keeps every server of a file under a distinct
usable name, the ``sessions`` and ``usage`` tables line up and cut by display width (CJK takes
two columns), and ``usage --json`` says plainly when a total's cost is known."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from chatcli.environment import Environment, ManualClock
from chatcli.features.tools.registry import Registry, Tool
from tests.cli_helpers import _Stream, clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply

SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
WIRE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
WHEN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


# mcp import


def test_mcp_import_keeps_every_server_under_a_distinct_name(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    config = tmp_path / "config.toml"
    long = "x" * 40
    found = {
        "时间": {"command": "a"},
        "天气": {"command": "b"},
        "my server": {"command": "c"},
        "my-server": {"command": "d"},
        "!!!": {"command": "e"},
        long + "1": {"command": "f"},
        long + "2": {"command": "g"},
        "ｔｉｍｅ": {"command": "h"},
    }
    source = tmp_path / "m.json"
    source.write_text(json.dumps({"mcpServers": found}, ensure_ascii=False), encoding="utf-8")

    r = run_cli("mcp", "import", str(source), env=env)
    assert r.returncode == 0, r.stderr
    assert "[mcp.servers.--]" not in r.stderr and "kept" not in r.stderr
    servers = tomllib.loads(config.read_text(encoding="utf-8"))["mcp"]["servers"]
    assert sorted(s["command"] for s in servers.values()) == list("abcdefgh")  # none lost
    assert servers["my-server"]["command"] == "d"  # a valid name stays as it is
    name_of = {spec["command"]: name for name, spec in servers.items()}
    for raw, spec in found.items():
        name = name_of[spec["command"]]
        assert SERVER_NAME.match(name) and re.search("[A-Za-z0-9]", name), name
        if name != raw:  # said on stderr, on the line that names the new one
            line = next(x for x in r.stderr.splitlines() if f"[mcp.servers.{name}]" in x)
            assert raw in line, (raw, line)
    assert name_of["h"] == "time"  # full-width letters read as the letters they are

    # every name is usable: -T NAME resolves and the function names sent are valid and distinct
    registry = Registry()
    registry.add(Tool(server=name, name="get") for name in servers)
    wires = [registry.wire_name(t) for t in registry.tools.values()]
    assert all(WIRE_NAME.match(w) for w in wires) and len(set(wires)) == len(servers)
    for name in servers:
        assert [t.server for t in registry.resolve(name, servers)] == [name]
    assert run_cli("config", "validate", env=env).returncode == 0

    # the same file again maps to the same names: each is kept, nothing is written
    text = config.read_text(encoding="utf-8")
    again = run_cli("mcp", "import", str(source), env=env)
    assert again.returncode == 0 and again.stderr.count("kept the existing") == len(found)
    assert config.read_text(encoding="utf-8") == text
    forced = run_cli("mcp", "import", "--force", str(source), env=env)
    assert forced.returncode == 0, forced.stderr
    assert tomllib.loads(config.read_text(encoding="utf-8"))["mcp"]["servers"] == servers


# sessions and usage tables


def _cells_before(line: str, pattern: re.Pattern[str]) -> int:
    match = pattern.search(line)
    assert match is not None, line
    return cell_len(line[: match.start()])


def test_sessions_list_and_search_line_up_by_display_width(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    for name in ("项目二", "proj", "日本語のセッション名"):
        assert run_cli("ask", "--session", name, "hi", env=env).returncode == 0
    listed = run_cli("sessions", "list", env=env).stdout.splitlines()
    assert len(listed) == 3
    assert len({_cells_before(line, WHEN) for line in listed}) == 1, listed
    assert len({_cells_before(line, re.compile(r"gpt-")) for line in listed}) == 1, listed
    found = run_cli("sessions", "search", "hi", env=env).stdout.splitlines()
    assert len(found) == 6
    assert len({_cells_before(line, WHEN) for line in found}) == 1, found


def _run_wide(*args: str, env: dict[str, str], width: int) -> subprocess.CompletedProcess[str]:
    """``run_cli`` on a terminal ``width`` columns wide."""
    import os

    from chatcli.__main__ import run

    stdout, stderr = _Stream(), _Stream()
    environment = Environment(_Stream(), stdout, stderr, stdout_isatty=True, stderr_isatty=True,
                              width=width, clock=ManualClock())  # fmt: skip
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        code = int(run(list(args), environment))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(list(args), code, stdout.text(), stderr.text())


def test_sessions_list_cuts_titles_by_display_width(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    english = "This is a very long English question about the listing of sessions " * 2
    chinese = "这是一个非常长的中文问题，用来测试会话列表里标题的截断是否按照显示宽度来进行" * 2
    mixed = "a" + chinese  # a wide character falls on every odd column
    for name, text in (("en", english), ("zh", chinese), ("mixed", mixed)):
        assert run_cli("ask", "--session", name, text, env=env).returncode == 0

    def titles(listing: str) -> dict[str, str]:
        rows = {}
        for line in listing.splitlines():
            name = line.split()[0]
            rows[name] = line[line.index("gpt-6-luna") + len("gpt-6-luna") :].strip()
        return rows

    piped = titles(run_cli("sessions", "list", env=env).stdout)
    for name, text in (("en", english), ("zh", chinese), ("mixed", mixed)):
        title = piped[name]
        assert title.endswith("…") and text.startswith(title[:-1]), title  # whole characters
        assert 50 <= cell_len(title) <= 60, (name, cell_len(title))  # the same columns for all

    for width in (80, 81, 120):
        listing = _run_wide("sessions", "list", env=env, width=width).stdout
        assert all(cell_len(line) < width for line in listing.splitlines()), (width, listing)
        for name, title in titles(listing).items():
            assert title.endswith("…"), title
            text = {"en": english, "zh": chinese, "mixed": mixed}[name]
            assert text.startswith(title[:-1]), title


def test_usage_table_lines_up_with_cjk_profiles(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[profiles."工作"]\ntype = "relay"\nbase_url = "' + fake.base_url + '"\n'
        'api_key_env = "OPENAI_API_KEY"\n',
        encoding="utf-8",
    )
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "-p", "工作", "hi", env=env).returncode == 0
    assert run_cli("ask", "hi", env=env).returncode == 0
    lines = run_cli("usage", "--by", "profile", env=env).stdout.splitlines()
    rows = [line for line in lines if not line.startswith("-")]
    assert any(line.startswith("工作 ") for line in rows), lines
    assert len({cell_len(line[: line.rindex("  ")]) for line in rows}) == 1, lines  # up to cost


# usage totals


def test_usage_json_total_of_nothing_is_zero_and_partial_is_unambiguous(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    nothing = json.loads(run_cli("usage", "--since", "2030-01-01", "--json", env=env).stdout)
    assert nothing["total"]["requests"] == 0 and nothing["total"]["cost_usd"] == 0
    assert nothing["total"]["known_cost_usd"] == 0

    fake.script(
        Reply(text="a", prompt_tokens=1000, completion_tokens=100),
        Reply(text="b", prompt_tokens=10, completion_tokens=5),
    )
    run_cli("ask", "one", env=env)
    known = json.loads(run_cli("usage", "--json", env=env).stdout)["total"]
    price = (1000 * 0.10 + 100 * 0.50) / 1e6
    assert known["cost_usd"] == known["known_cost_usd"] == price  # all prices known: a number

    run_cli("ask", "-m", "qwen-max", "two", env=env)  # a model without a known price
    report = json.loads(run_cli("usage", "--by", "model", "--json", env=env).stdout)
    total = report["total"]
    assert total["requests"] == 2 and total["requests_with_unknown_cost"] == 1
    assert total["cost_usd"] is None and total["known_cost_usd"] == price  # a lower bound
    rows = {r["key"]: r for r in report["rows"]}
    assert rows["qwen-max"]["cost_usd"] is None and rows["qwen-max"]["known_cost_usd"] == 0
    assert rows["gpt-6-luna"]["cost_usd"] == price
    table = run_cli("usage", env=env).stdout
    assert date.today().isoformat() in table and "≥ $0.00015" in table


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.sampled_from("ab 中文😀é\u0301x"), max_size=120),
    st.sampled_from(["中文", "x", "ab", "é"]),
    st.integers(4, 60),
)
def test_search_snippets_fit_their_width_in_columns(text: str, needle: str, width: int) -> None:
    """``sessions search`` snippets are cut by display width around the match, whole
    characters only (a CJK line was twice as wide as an English one)."""
    from chatcli.store.search import snippet

    got = snippet(text, needle, width)
    body = got.removeprefix("…").removesuffix("…")
    assert cell_len(body) <= width
    assert body in " ".join(text.split())
    flat = " ".join(text.split())
    if needle.lower() in flat.lower() and cell_len(needle) <= width:
        assert needle.lower() in body.lower()
