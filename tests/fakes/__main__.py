"""Run the fake as its own process: ``python -m tests.fakes [--port 0] ...``.

Why: tmux REPL tests and benchmarks need the server outside the process under test. The first
line of stdout is the base URL (``http://127.0.0.1:PORT/v1``); drive it via ``/_fake/*``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from tests.fakes.server import DEFAULT_API_KEY, FakeOpenAI, Reply


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, then exit quietly with status 0."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--api-key", default=DEFAULT_API_KEY, help="required Bearer key")
    auth.add_argument("--no-auth", action="store_true", help="accept any or no key")
    parser.add_argument("--azure-key", default=None, help="api-key for Azure routes")
    parser.add_argument("--words-per-second", type=float, default=None)
    parser.add_argument("--reply-words", type=int, default=None)
    parser.add_argument("--serve-model", default=None, help="answer as this (substitute) model")
    parser.add_argument(
        "--exact-usage", action="store_true", help="count prompt tokens with the real tokenizer"
    )
    args = parser.parse_args(argv)

    fake = FakeOpenAI(
        None if args.no_auth else args.api_key, azure_key=args.azure_key, port=args.port
    )
    fake.serve_model, fake.exact_usage = args.serve_model, args.exact_usage
    fake.default_reply = Reply(words=args.reply_words, words_per_second=args.words_per_second)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake.start()
    try:
        print(fake.base_url, flush=True)
        while not stop.wait(0.5):
            pass
    except BrokenPipeError:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
