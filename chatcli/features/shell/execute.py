"""Running a generated command the way the user's shell would: ``SHELL -c COMMAND``.

The command inherits the current directory, the environment and the terminal (its output goes
straight there); chatcli's exit code is the command's (128+N when a signal N ended it). Ctrl-C
while it runs reaches the command (same process group), not chatcli, which waits for it to end;
a SIGTERM or SIGHUP sent to chatcli (``signals.Stopped``) is passed on to the command, and
chatcli still waits for it and returns its status.
"""

from __future__ import annotations

import contextlib
import subprocess

from chatcli.errors import ChatcliError
from chatcli.features.shell.detect import Shell


def execute(command: str, shell: Shell) -> int:
    """Run ``command`` with ``shell`` and return its exit status."""
    try:
        proc = subprocess.Popen([shell.path, "-c", command])
    except OSError as exc:
        raise ChatcliError(
            f"cannot run {shell.path}: {exc.strerror or exc}",
            hint="set the shell with --shell or `chatcli config set defaults.shell NAME`",
        ) from None
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt as exc:  # the command got the same Ctrl-C; wait for its end
            signum = getattr(exc, "signum", None)  # SIGTERM/SIGHUP: only chatcli got it
            if signum is not None:
                with contextlib.suppress(OSError):
                    proc.send_signal(signum)
    return code if code >= 0 else 128 - code
