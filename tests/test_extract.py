"""``ask -x`` takes fenced code wherever Markdown puts it, ready to run: the output is piped
into a real Python interpreter, which fails on a stray quote marker or list indentation."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from chatcli.features.ask.extract import code_blocks
from tests.cli_helpers import fake_env
from tests.fakes import FakeOpenAI, Reply

QUOTED_AND_LISTED = """Two steps.

> Note: first define it
>
> ```python
> def total(xs):
>     if not xs:
>         return 0
>     return sum(xs)
> ```

1. Then call it:

   ```python
   for n in (3, 4):
       print("total", total(range(n)))
   ```
2. Done.
"""


@pytest.mark.external  # bash and a second Python read the pipe
def test_quoted_and_listed_blocks_piped_to_python(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text=QUOTED_AND_LISTED))
    env = fake_env(tmp_path, fake)
    ask = shlex.join([sys.executable, "-m", "chatcli", "ask", "-x", "sum things"])
    line = f"{ask} | {shlex.quote(sys.executable)} -"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", line],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "total 3\ntotal 6\n"


def test_blocks_in_every_container_lose_its_markers_and_indentation() -> None:
    answer = (
        "- outer\n"
        "  > ```sh\n"
        "  > echo nested\n"
        "  > ```\n"
        "\n"
        "~~~\n"
        "  kept indentation\n"
        "~~~\n"
        "\n"
        "> ```\n"
        "> cut inside a quote"
    )
    assert code_blocks(answer) == ["echo nested\n", "  kept indentation\n", "cut inside a quote\n"]


def test_no_fence_means_no_block() -> None:
    assert code_blocks("just ``` inline ``` ticks and\n\n    indented code\n") == []
