"""Ctrl-C stops a multi-input ``summarize`` at once, even while every request waits on a slow
server: the requests in flight are cut, not waited for. A real SIGINT to a real process; how
fast is measured by ``bench/bench_interrupt.py``, not asserted here."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli_helpers import chatcli_argv, fake_env
from tests.fakes import Delay, FakeOpenAI, Reply


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
    proc = subprocess.Popen(
        chatcli_argv("summarize", *inputs, "--yes", *extra),  # SIGINT honoured (see there)
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=fake_env(tmp_path, fake),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while len(fake.chat_requests()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the requests to be in flight, not timing anything
    assert len(fake.chat_requests()) >= 3
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)  # the server would hold them for 120 s
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert fake.wait_for_disconnects(3, timeout=10)
