"""What ``--schema`` adds to one ``ask``: the strict form, the ``jsonschema`` import and the
validation, measured side by side with a plain ``ask`` in the same run.

    python bench/bench_schema.py [--runs 10]

Both ask the same local fake server (which answers a valid instance of the schema); runs are
interleaved so both sides see the same machine load; medians are reported, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_startup import side_by_side  # noqa: E402
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI  # noqa: E402

FIELDS = "sentiment, score int, reasons list[str], note?: only if something stands out"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    chatcli = str(Path(sys.executable).with_name("chatcli"))
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATCLI_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # users run from compiled bytecode
        env.update(
            CHATCLI_HOME=str(Path(tmp) / "home"),
            CHATCLI_CONFIG=str(Path(tmp) / "c.toml"),
            OPENAI_API_KEY=DEFAULT_API_KEY,
            OPENAI_BASE_URL=fake.base_url,
        )
        plain, schema = side_by_side(
            [chatcli, "ask", "Classify: great product"],
            [chatcli, "ask", "--schema", FIELDS, "Classify: great product"],
            env,
            runs,
        )
    print(f"chatcli ask             {plain * 1000:7.1f} ms")
    print(f"chatcli ask --schema    {schema * 1000:7.1f} ms")
    print(f"ratio                   {schema / plain:7.2f}   (what validation adds)")


if __name__ == "__main__":
    main()
