"""``chatcli verify`` end to end: the real CLI against the fake, scripted one reply per probe.

Requests in order: the probe prompt (model, prompt_tokens, max_tokens, system_fingerprint), the
same prompt streamed (stream_usage), the tool prompt (tool_calls), the three reasoning questions,
the logprobs request and the seed pair. The fake counts prompt tokens exactly (``exact_usage``),
as the official API does, with no tokenizer file cached and no network.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chatcli.features.verify.probes import (
    ANSWER_FORMAT,
    MAX_TOKENS,
    PROBE_MESSAGES,
    QUESTIONS,
    Check,
    probe_model,
    verdict,
)
from tests.cli_helpers import clean_env, fake_env, run_cli, run_process
from tests.fakes import Error, FakeOpenAI, RejectStreamOptions, Reply

pytest_plugins = ["tests.inprocess"]  # the in-process `cli` fixture
Run = Callable[..., "subprocess.CompletedProcess[str]"]

NAMES = [
    "model",
    "prompt_tokens",
    "max_tokens",
    "system_fingerprint",
    "stream_usage",
    "tool_calls",
    "reasoning",
    "logprobs",
    "seed",
    "json_schema",
]
TOOL_CALL = Reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])


def script(
    fake: FakeOpenAI,
    *,
    main: Reply | None = None,
    streamed: Reply | RejectStreamOptions | None = None,
    tools: Reply | Error | None = None,
    answers: tuple[str, str, str] = ("ANSWER: 3", "ANSWER: 215", "ANSWER: 3"),
    prompt_tokens: int | None = None,
) -> None:
    """Queue one reply per request; the defaults are what an honest endpoint answers (the
    logprobs and seed requests get the fake's default reply)."""
    fake.exact_usage = True
    fake.script(
        main or Reply(prompt_tokens=prompt_tokens),
        streamed or Reply(prompt_tokens=prompt_tokens),
        tools or TOOL_CALL,
        *(Reply(text=a) for a in answers),
    )


@pytest.fixture
def env(fake: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    """Zero-config env at the fake, with an empty tiktoken cache: no exact tokenizer."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    return fake_env(tmp_path, fake, TIKTOKEN_CACHE_DIR=str(cache))


def lines(stdout: str) -> dict[str, str]:
    """``name -> "[mark] evidence"`` from the human report."""
    out = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"\[(\w+)\] (\S+) +(.*) \((?:weak|medium|strong)\)", line)
        if match:
            mark, name, evidence = match.groups()
            out[name] = f"[{mark}] {evidence}"
    return out


def test_honest_endpoint_is_consistent(fake: FakeOpenAI, env: dict[str, str]) -> None:
    """End to end in a subprocess; the other report tests run in-process (tests.inprocess)."""
    script(fake)
    result = run_cli("verify", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert out[0] == f"verifying gpt-6-luna at {fake.base_url}/chat/completions (profile openai)"
    assert list(lines(result.stdout)) == NAMES
    assert out[-1] == "verdict: consistent with gpt-6-luna"
    checks = lines(result.stdout)
    assert checks["model"] == "[pass] the response names gpt-6-luna"
    assert checks["prompt_tokens"] == "[pass] reported 100; o200k_base counts 100"
    assert checks["system_fingerprint"] == "[pass] system_fingerprint fp_fake"
    assert checks["logprobs"].startswith("[pass]") and checks["seed"].startswith("[pass]")
    assert checks["max_tokens"] == "[pass] stopped at exactly 7 tokens (finish_reason length)"
    assert checks["tool_calls"] == '[pass] called get_weather({"city": "Paris"})'
    assert checks["reasoning"] == "[pass] 3/3 answered right"
    assert result.stderr == ""
    bodies = [r.json for r in fake.chat_requests()]
    assert len(bodies) == 10 and fake.pending_script == 0
    assert bodies[0]["messages"] == PROBE_MESSAGES and bodies[0]["max_tokens"] == MAX_TOKENS
    assert "stream" not in bodies[0] and bodies[0]["temperature"] == 0
    assert bodies[1]["messages"] == PROBE_MESSAGES and bodies[1]["stream"] is True
    assert bodies[1]["stream_options"] == {"include_usage": True}
    assert bodies[2]["tools"][0]["function"]["name"] == "get_weather"
    assert [b["messages"][0]["content"] for b in bodies[3:6]] == [
        f"{q} {ANSWER_FORMAT}" for _, q, _ in QUESTIONS
    ]
    assert bodies[6]["logprobs"] is True and bodies[7]["seed"] == bodies[8]["seed"]
    from chatcli.store import Store

    with Store.open(Path(env["CHATCLI_HOME"])) as store:
        rows = store.usage_rows()
    assert [(r.command, r.model, r.estimated) for r in rows] == [
        ("verify", "gpt-6-luna", False)
    ] * 10
    assert {r.served_model for r in rows} == {"gpt-6-luna"}
    assert all(r.prompt_tokens > 0 and r.cost_usd is not None for r in rows)


def test_json_shape(cli: Run, fake: FakeOpenAI, env: dict[str, str]) -> None:
    script(fake, streamed=Reply(usage=False))
    result = cli("verify", "--json", env=env)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert list(obj) == ["checks", "verdict"]
    assert all(list(c) == ["name", "status", "strength", "evidence"] for c in obj["checks"])
    assert [(c["name"], c["status"], c["strength"]) for c in obj["checks"]] == [
        ("model", "pass", "weak"),
        ("prompt_tokens", "pass", "strong"),
        ("max_tokens", "pass", "medium"),
        ("system_fingerprint", "pass", "weak"),
        ("stream_usage", "warn", "weak"),
        ("tool_calls", "pass", "medium"),
        ("reasoning", "pass", "weak"),
        ("logprobs", "pass", "medium"),
        ("seed", "pass", "weak"),
        ("json_schema", "pass", "medium"),
    ]
    assert all(isinstance(c["evidence"], str) and c["evidence"] for c in obj["checks"])
    assert obj["verdict"] == "consistent with gpt-6-luna (stream_usage warned)"
    assert obj["checks"][4]["evidence"] == "no usage chunk in the stream (include_usage ignored)"


@pytest.mark.parametrize(
    ("streamed", "evidence"),
    [
        (RejectStreamOptions(), "[warn] the endpoint refused stream_options.include_usage: "),
        (Reply(prompt_tokens=999), "[warn] streamed usage says 999 prompt tokens, not streamed "),
    ],
)
def test_stream_usage_probe(
    cli: Run,
    fake: FakeOpenAI,
    env: dict[str, str],
    streamed: Reply | RejectStreamOptions,
    evidence: str,
) -> None:
    script(fake, streamed=streamed)
    result = cli("verify", env=env)
    assert lines(result.stdout)["stream_usage"].startswith(evidence), result.stdout
    assert result.returncode == 0


def test_relay_renaming_the_model_fails(cli: Run, fake: FakeOpenAI, env: dict[str, str]) -> None:
    script(fake, main=Reply(model="gpt-3.5-turbo-0125"))
    result = cli("verify", env=env)
    assert result.returncode == 1
    assert lines(result.stdout)["model"] == (
        "[FAIL] asked for gpt-6-luna, the response names gpt-3.5-turbo-0125"
    )
    assert result.stdout.endswith("verdict: likely not gpt-6-luna: model failed\n")


@pytest.mark.parametrize(
    ("claimed", "answered", "status"),
    [
        ("gpt-4o", "gpt-4o", "pass"),
        ("gpt-4o", "gpt-4o-2024-08-06", "pass"),
        ("gpt-4o", "openai/gpt-4o", "pass"),
        ("gpt-3.5-turbo", "gpt-3.5-turbo-0125", "pass"),
        ("gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "pass"),
        ("gpt-4o", "gpt-4o-mini", "fail"),
        ("gpt-4o", "gpt-4o-mini-2024-07-18", "fail"),
        ("gpt-4", "gpt-4-1106-preview", "fail"),
        ("gpt-4o", "qwen-max", "fail"),
        ("gpt-4o", None, "warn"),
    ],
)
def test_model_name_probe(claimed: str, answered: str | None, status: str) -> None:
    from chatcli.features.verify.probes import Target
    from chatcli.pricing import lookup

    target = Target(provider=None, model=claimed, info=lookup(claimed), tokenizers={})  # type: ignore[arg-type]
    assert probe_model(target, {"model": answered}).status == status


def test_verdict_weighs_fails_then_warnings() -> None:
    def checks(*statuses: str) -> list[Check]:
        return [Check(n, s, "x") for n, s in zip(NAMES, statuses, strict=False)]  # type: ignore[arg-type]

    assert verdict("m", checks("pass", "skip", "warn")).text == (
        "consistent with m (max_tokens warned; prompt_tokens skipped)"
    )
    assert verdict("m", checks("pass", "pass")).consistent
    suspicious = verdict("m", checks("pass", "warn", "warn"))
    assert suspicious.text == "suspicious: prompt_tokens, max_tokens warned"
    assert not suspicious.consistent
    assert verdict("m", checks("fail", "warn", "fail")).text == (
        "likely not m: model, max_tokens failed"
    )


def test_ignored_max_tokens_fails(cli: Run, fake: FakeOpenAI, env: dict[str, str]) -> None:
    script(fake, main=Reply(text="a short answer", completion_tokens=40))
    result = cli("verify", env=env)
    assert result.returncode == 1
    assert lines(result.stdout)["max_tokens"] == (
        "[FAIL] asked for at most 7 tokens, got 40 completion tokens, finish_reason stop"
    )
    assert "likely not gpt-6-luna: max_tokens failed" in result.stdout


def test_reasoning_models_get_max_completion_tokens(
    cli: Run, fake: FakeOpenAI, env: dict[str, str]
) -> None:
    script(fake)
    result = cli("verify", "-m", "o3-mini", env=env)
    assert result.returncode == 0, result.stdout
    first, _, tools, *questions = [r.json for r in fake.chat_requests()]
    assert first["max_completion_tokens"] == MAX_TOKENS and "max_tokens" not in first
    assert "temperature" not in first
    assert "max_completion_tokens" not in tools and "max_completion_tokens" not in questions[0]


@pytest.mark.parametrize(
    ("tools", "status", "evidence"),
    [
        (Reply(text="It is sunny."), "warn", "answered in text instead of calling the tool"),
        (Error(400, "tools are not supported"), "warn", "refused the tools parameter"),
        (
            Reply(tool_calls=[{"name": "get_weather", "arguments": "{city: Paris"}]),
            "FAIL",
            "the tool arguments are not a JSON object: '{city: Paris'",
        ),
        (
            Reply(tool_calls=[{"name": "weather", "arguments": {"city": "Paris"}}]),
            "FAIL",
            "called 'weather', a tool that was not offered",
        ),
    ],
)
def test_tool_calls_probe(
    cli: Run,
    fake: FakeOpenAI,
    env: dict[str, str],
    tools: Reply | Error,
    status: str,
    evidence: str,
) -> None:
    script(fake, tools=tools)
    result = cli("verify", env=env)
    line = lines(result.stdout)["tool_calls"]
    assert line.startswith(f"[{status}]") and evidence in line, line
    assert result.returncode == (1 if status == "FAIL" else 0)


def test_two_warnings_are_suspicious_and_reasoning_is_weak(
    cli: Run, fake: FakeOpenAI, env: dict[str, str]
) -> None:
    script(fake, answers=("ANSWER: 2", "ANSWER: 215", "I cannot say, see policy 3."))
    alone = cli("verify", "--json", env=env)
    assert alone.returncode == 0
    obj = json.loads(alone.stdout)
    assert obj["checks"][6] == {
        "name": "reasoning",
        "status": "warn",
        "strength": "weak",
        "evidence": "1/3 answered right (letters: answered 2, expected 3; "
        "trick: no ANSWER line in 'I cannot say, see policy 3.'); weak evidence",
    }
    assert obj["verdict"] == "consistent with gpt-6-luna (reasoning warned)"
    script(fake, answers=("2", "ANSWER: 215", "ANSWER: 3"), tools=Reply(text="Sunny."))
    both = cli("verify", "--json", env=env)
    assert both.returncode == 1
    assert json.loads(both.stdout)["verdict"] == "suspicious: tool_calls, reasoning warned"


def test_errors_keep_their_exit_codes(fake: FakeOpenAI, tmp_path: Path) -> None:
    bad_key = fake_env(tmp_path, fake, OPENAI_API_KEY="sk-wrong-0000000000zzzz")
    result = run_cli("verify", env=bad_key)
    assert result.returncode == 4 and "refused the API key" in result.stderr
    assert "sk-wrong-0000000000zzzz" not in result.stdout + result.stderr
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n")
    fake.script(Error(500))
    assert run_cli("verify", env=fake_env(tmp_path, fake)).returncode == 5
    down = clean_env(tmp_path, OPENAI_API_KEY="k", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    result = run_cli("verify", "--json", env=down)
    assert result.returncode == 6 and result.stdout == ""


@pytest.mark.parametrize("outage", [Error(500), Error(503), Error.rate_limit(0)])
def test_an_outage_after_the_first_probes_is_no_evidence(
    fake: FakeOpenAI, tmp_path: Path, outage: Error
) -> None:
    """A relay that fails with a 5xx or a spent 429 half-way through says nothing of the model:
    the run ends with the error's code, never with a "likely not MODEL" verdict."""
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n")
    fake.script(Reply(), Reply(text="x"), *[outage] * 8)
    result = run_cli("verify", "-m", "gpt-4o", env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stdout + result.stderr
    assert "likely not" not in result.stdout + result.stderr
    assert "chatcli: error:" in result.stderr


# -- the exact prompt-token probe, with tokenizers built from local files -------------------

PLUGIN = """\
from tiktoken.load import load_tiktoken_bpe

def _make(name, path):
    return lambda: {{"name": name, "pat_str": r"\\S+|\\s+",
                     "mergeable_ranks": load_tiktoken_bpe(path), "special_tokens": {{}}}}

ENCODING_CONSTRUCTORS = {{
    "verify_a": _make("verify_a", {a!r}),
    "verify_b": _make("verify_b", {b!r}),
}}
"""


def _bpe(path: Path, merges: list[bytes]) -> str:
    ranks = [bytes([b]) for b in range(256)] + merges
    path.write_bytes(b"".join(base64.b64encode(t) + b" %d\n" % i for i, t in enumerate(ranks)))
    return str(path)


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], int, int]:
    """Two tiktoken plugin encodings: ``verify_a`` merges common English pairs, ``verify_b``
    is plain bytes; returns the env additions and each one's count of the probe prompt."""
    pytest.importorskip("tiktoken")
    root = tmp_path_factory.mktemp("tok")
    a = _bpe(root / "a.tiktoken", [b"th", b"he", b"in", b"er", b"an", b"on", b"the", b"es"])
    b = _bpe(root / "b.tiktoken", [])
    plugin = root / "plugins" / "tiktoken_ext"
    plugin.mkdir(parents=True)
    (plugin / "chatcli_verify_test.py").write_text(PLUGIN.format(a=a, b=b))
    (root / "cache").mkdir()
    extra = {
        "PYTHONPATH": os.pathsep.join([str(plugin.parent), *sys.path]),
        "TIKTOKEN_CACHE_DIR": str(root / "cache"),
    }
    code = (
        "from chatcli.tokens import count_messages\n"
        "from chatcli.features.verify.probes import PROBE_MESSAGES\n"
        "for e in ('verify_a', 'verify_b'):\n"
        "    c = count_messages(PROBE_MESSAGES, e)\n"
        "    print(c.n, c.exact)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **extra}, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[1::2] == ["True", "True"]  # both count exactly
    count_a, count_b = map(int, out.stdout.split()[::2])
    assert count_b - count_a > 10  # the two "families" really count this prompt differently
    return extra, count_a, count_b


CONFIG = """\
[models."gpt-4o"]
tokenizer = "verify_a"
[models."gpt-3.5-turbo"]
tokenizer = "verify_b"
"""


@pytest.mark.parametrize(
    ("reported", "status", "evidence"),
    [
        (lambda a, b: a, "pass", "reported {a}; verify_a counts {a}"),
        (lambda a, b: a + 2, "pass", "reported {a2}; verify_a counts {a}"),
        (
            lambda a, b: b,
            "FAIL",
            "reported {b}, but verify_a counts {a}; verify_b counts {b}: "
            "the tokenizer of gpt-3.5-turbo",
        ),
        (
            lambda a, b: a - 20,
            "FAIL",
            "reported {a_20}, fewer than the {a} verify_a counts: another tokenizer",
        ),
        (
            lambda a, b: a + 5,
            "warn",
            "reported {a5}, 5 more than the {a} verify_a counts: a hidden system prompt, "
            "or another tokenizer",
        ),
    ],
)
def test_prompt_tokens_probe_with_an_exact_tokenizer(
    fake: FakeOpenAI,
    tmp_path: Path,
    tokenizers: tuple[dict[str, str], int, int],
    reported: Any,
    status: str,
    evidence: str,
) -> None:
    extra, a, b = tokenizers
    (tmp_path / "config.toml").write_text(CONFIG)
    script(fake, prompt_tokens=reported(a, b))
    # a real process: the tokenizer plugin is found through PYTHONPATH
    result = run_process("verify", "-m", "gpt-4o", env=fake_env(tmp_path, fake, **extra))
    expected = evidence.format(a=a, b=b, a2=a + 2, a5=a + 5, a_20=a - 20)
    assert lines(result.stdout)["prompt_tokens"] == f"[{status}] {expected}", result.stderr
    assert result.returncode == (1 if status == "FAIL" else 0)


def test_a_probe_without_usage_logs_its_answer_estimated(
    cli: Run, fake: FakeOpenAI, env: dict[str, str]
) -> None:
    """The streamed probe's usage went unreported: its row counts the prompt and the answer
    it streamed (the one estimator every command uses), not 0 output tokens."""
    script(fake, streamed=Reply(usage=False))
    result = cli("verify", env=env)
    assert result.returncode == 0, result.stderr
    from chatcli.store import Store

    with Store.open(Path(env["CHATCLI_HOME"])) as store:
        rows = store.usage_rows()
    estimated = [r for r in rows if r.estimated]
    assert len(rows) == 10 and len(estimated) == 1
    assert estimated[0].prompt_tokens > 0 and estimated[0].completion_tokens > 0
    assert estimated[0].cost_usd is not None and estimated[0].cost_usd > 0
