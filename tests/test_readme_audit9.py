"""Audit 9 (the README as a contract): ``image --response-format``, ``balance``'s column adding
up, a second ``mcp import`` saying what it really did, and ``ask --json``'s ``reasoning`` key,
each through the real CLI against the fake server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import DEFAULT_BILLING, FakeOpenAI, Reply


def test_response_format_b64_json_is_a_no_op_for_gpt_image_models(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """What the help calls the default, and what gpt-image models return anyway, is taken."""
    env = fake_env(tmp_path, fake)
    result = run_cli("image", "logo", "--response-format", "b64_json", "-o", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    (saved,) = [Path(line) for line in result.stdout.splitlines()]
    assert saved.read_bytes().startswith(b"\x89PNG")
    (request,) = fake.requests
    assert request.json["model"] == "gpt-image-2.5-sunburst"
    assert "response_format" not in request.json  # the model takes no such parameter


def test_response_format_url_on_a_gpt_image_model_names_the_models_that_take_it(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    result = run_cli("image", "logo", "--response-format", "url", "-o", str(tmp_path), env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "chatcli: error: gpt-image-2.5-sunburst takes no --response-format url; it always "
        "returns the image data (b64_json)",
        "hint: only dall-e-3 and dall-e-2 take --response-format url (-m dall-e-3, where a relay "
        "still serves it); leave the option out for gpt-image models",
    ]
    assert fake.requests == []


def test_the_readme_example_for_response_format_url_works(fake: FakeOpenAI, tmp_path: Path) -> None:
    """The README's example line, run as written (with -o into the test's folder)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    (line,) = [ln for ln in readme.splitlines() if "--response-format url" in ln and "#" in ln]
    args = line.split("#")[0].split()[2:]  # after `chatcli image`
    args = [a.strip('"') for a in args]
    result = run_cli("image", *args, "-o", str(tmp_path), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert fake.requests[0].json["response_format"] == "url"
    help_text = run_cli("image", "--help", env=fake_env(tmp_path, fake)).stdout
    assert "dall-e models only" in " ".join(help_text.split())


def _amounts(text: str) -> dict[str, Decimal]:
    found = re.findall(r"^(limit|used|remaining) +(-?)\$([\d,.]+)", text, re.MULTILINE)
    return {name: Decimal(sign + amount.replace(",", "")) for name, sign, amount in found}


@pytest.mark.parametrize(
    ("limit", "used_cents", "shown"),
    [
        (100.0, 1234.5, ("$100.00", "$12.35", "$87.65")),  # 12.345 used, 87.655 left
        (1.0, 99.6, ("$1.00", "$0.996", "$0.004")),  # not $1.00 used and $0.004 left
        (100.0, 1.23, ("$100.00", "$0.012", "$99.988")),
        (100.0, 12345.0, ("$100.00", "$123.45", "-$23.45")),
    ],
)
def test_balance_used_and_remaining_add_up_to_the_limit_as_shown(
    fake: FakeOpenAI,
    tmp_path: Path,
    limit: float,
    used_cents: float,
    shown: tuple[str, str, str],
) -> None:
    fake.billing = {
        "subscription": {**DEFAULT_BILLING["subscription"], "hard_limit_usd": limit},
        "usage": {"object": "list", "total_usage": used_cents},
    }
    env = fake_env(tmp_path, fake)
    result = run_cli("balance", env=env)
    assert result.returncode == 0, result.stderr
    amounts = _amounts(result.stdout)
    assert amounts["used"] + amounts["remaining"] == amounts["limit"], result.stdout
    lines = result.stdout.splitlines()
    assert [ln.split()[1] for ln in lines[1:4]] == list(shown)
    exact = json.loads(run_cli("balance", "--json", env=env).stdout)  # the exact numbers
    assert exact["used_usd"] == used_cents / 100
    assert exact["remaining_usd"] == limit - used_cents / 100


def test_a_second_mcp_import_does_not_say_it_imported_anything(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    source = tmp_path / "claude.json"
    servers = {"time": {"command": "t"}, "github api": {"command": "g"}, "时间": {"command": "x"}}
    source.write_text(json.dumps({"mcpServers": servers}, ensure_ascii=False), encoding="utf-8")
    first = run_cli("mcp", "import", str(source), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[-2].endswith(": 2 imported under the name shown with them")
    text = (tmp_path / "config.toml").read_text()

    again = run_cli("mcp", "import", str(source), env=env)
    assert again.returncode == 0, again.stderr
    assert "imported" not in again.stderr and "wrote" not in again.stderr
    last = again.stderr.splitlines()[-1]
    assert last.endswith(": 2 already there under the name shown with them")
    assert (tmp_path / "config.toml").read_text() == text

    servers["new one"] = {"command": "n"}  # one more renamed server: only it is imported
    source.write_text(json.dumps({"mcpServers": servers}, ensure_ascii=False), encoding="utf-8")
    more = run_cli("mcp", "import", str(source), env=env)
    assert more.returncode == 0, more.stderr
    assert ": 1 imported, 2 already there under the name shown with them" in more.stderr


@pytest.fixture
def rfake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.responses = True
        yield server


def test_ask_json_leaves_the_reasoning_key_out_when_a_profile_hides_it(
    rfake: FakeOpenAI, tmp_path: Path
) -> None:
    """The audit's own set-up (a profile's ``show_reasoning = false``, the Responses API): the
    key is absent, the one shape the README documents for "no summary shown"."""
    (tmp_path / "config.toml").write_text(
        f'[profiles.o]\ntype = "openai"\nbase_url = "{rfake.base_url}"\napi = "responses"\n'
        'model = "o3"\nshow_reasoning = false\n'
    )
    env = fake_env(tmp_path, rfake)
    rfake.script(Reply(text="The answer is 4.", reasoning="I add two and two."))
    hidden = run_cli("-p", "o", "ask", "--json", "2+2", env=env)
    assert hidden.returncode == 0, hidden.stderr
    obj = json.loads(hidden.stdout)
    assert obj["answer"] == "The answer is 4." and "reasoning" not in obj
    assert "I add" not in hidden.stderr
    rfake.script(Reply(text="Hi."))  # no summary at all: the same shape
    plain = run_cli("ask", "--json", "hi", env=env)
    assert plain.returncode == 0, plain.stderr
    assert "reasoning" not in json.loads(plain.stdout)
