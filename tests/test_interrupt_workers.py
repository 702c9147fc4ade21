"""Ctrl-C (and SIGTERM, handled the same way) stops a command whose requests wait on a slow
server in worker threads (a multi-input ``summarize``, a summary of many parts, several
``transcribe`` inputs) at once: the requests in flight are cut, not waited for. A real signal
to a real process; how fast is measured by ``bench/bench_interrupt.py``, not asserted here."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli_helpers import chatcli_argv, fake_env, run_cli
from tests.fakes import Delay, Error, FakeOpenAI, Reply, make_wav


def _interrupt(
    fake: FakeOpenAI, tmp_path: Path, argv: list[str], in_flight: int,
    signum: int = signal.SIGINT, settle: float = 0.0, cut: bool = True,
) -> None:  # fmt: skip
    """Run ``chatcli ARGV``, send it ``signum`` (Ctrl-C's by default) once ``in_flight``
    requests wait on the server, and check that it ends with 128 + ``signum`` and cuts those
    requests (the server would hold them 120 s; ``cut`` False: none is open by then)."""
    proc = subprocess.Popen(
        chatcli_argv(*argv),  # SIGINT honoured (see there)
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=fake_env(tmp_path, fake),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while len(fake.requests) < in_flight and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the requests to be in flight, not timing anything
    assert len(fake.requests) >= in_flight, f"{len(fake.requests)} requests came in 30 s"
    time.sleep(settle)  # into a retry's countdown, say; not timing anything
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"still running 30 s after the signal; stderr: {err!r}") from None
    assert proc.returncode == 128 + signum, err
    assert b"Traceback" not in err
    assert not cut or fake.wait_for_disconnects(in_flight, timeout=10)


@pytest.mark.process
@pytest.mark.parametrize("parts", [False, True])
def test_ctrl_c_stops_multi_input_summarize_without_waiting_for_the_server(
    fake: FakeOpenAI, tmp_path: Path, parts: bool
) -> None:
    inputs = []
    for i in range(3):
        path = tmp_path / f"in{i}.txt"
        words = " ".join(f"word{j}" for j in range(400)) if parts else f"text {i}"
        path.write_text("\n\n".join([words] * (6 if parts else 1)))
        inputs.append(str(path))
    fake.script(*[Delay(120, Reply("late")) for _ in range(12)])
    extra = ["--chunk-tokens", "600"] if parts else []
    _interrupt(fake, tmp_path, ["summarize", *inputs, "--yes", *extra], 3)


@pytest.mark.process
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_several_transcriptions_without_waiting_for_the_server(
    fake: FakeOpenAI, tmp_path: Path, signum: int
) -> None:
    inputs = []
    for i in range(3):
        path = tmp_path / f"talk{i}.wav"
        path.write_bytes(make_wav(1.0))
        inputs.append(str(path))
    fake.script(*[Delay(120) for _ in range(6)], route="audio")
    _interrupt(fake, tmp_path, ["transcribe", *inputs], 3, signum)


@pytest.mark.process
@pytest.mark.parametrize("retrying", [False, True])
def test_ctrl_c_stops_a_local_batch_and_leaves_its_requests_to_resume(
    fake: FakeOpenAI, tmp_path: Path, retrying: bool
) -> None:
    """The requests in flight are cut, not sent again nor stored as failed (``retrying``: the
    signal comes during a retry's countdown), so the same submit resumes and answers them."""
    from tests.test_batch import results_jsonl, write_jsonl

    inputs = write_jsonl(tmp_path / "in.jsonl", 3)
    first = [Error(503, headers={"Retry-After": "30"})] * 3 if retrying else []
    fake.script(*first, *[Delay(120, Reply("late")) for _ in range(3)])
    argv = ["batch", "submit", str(inputs), "--local", "--yes"]
    _interrupt(fake, tmp_path, argv, 3, settle=0.5 if retrying else 0.0, cut=not retrying)
    sent = len(fake.chat_requests())
    fake.reset()
    again = run_cli(*argv, env=fake_env(tmp_path, fake))
    assert again.returncode == 0, again.stderr
    job = again.stdout.strip()
    assert f"resuming job {job}" in again.stderr
    rows = results_jsonl(fake_env(tmp_path, fake), job)
    assert [r["answer"] for r in rows] == [f"echo(1): question {i}" for i in range(3)]
    assert sent == 3  # nothing was sent again after the signal
