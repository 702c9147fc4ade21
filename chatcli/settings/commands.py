"""The shell commands a config runs for a secret: ``api_key_cmd``, a header's
``{ cmd = ... }`` and an MCP server's ``env``/``headers`` value ``{ cmd = ... }``.

Each runs through the shell with no stdin, in a session (and process group) of its own, for at
most ``TIMEOUT`` seconds. Killing only the shell would leave what it started (``pass``, ``gpg``
waiting on a pinentry) running for ever, so on a timeout, and when chatcli is stopped while it
waits (Ctrl-C, SIGTERM, SIGHUP raise in the waiting thread), the whole group is killed. A command
still running when the interpreter exits (its waiting thread abandoned) is killed then too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import threading

from chatcli.errors import ConfigError

TIMEOUT = 30.0
"""Seconds a secret's command may take."""

_running: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()


def run(cmd: str, setting: str, *, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """Run ``cmd`` (stdout and stderr captured); a ConfigError naming ``setting`` (already
    redacted by the caller) when it takes longer than ``timeout`` seconds."""
    proc = subprocess.Popen(
        cmd,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: killed whole, and no terminal signals
    )
    with _lock:
        _running.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise ConfigError(
            f"{setting} timed out after {timeout:g} s and was stopped",
            hint="run it yourself to check; chatcli runs it without a terminal, so it must not "
            "wait for input (unlock the password store or agent first)",
        ) from None
    except BaseException:  # Ctrl-C, SIGTERM/SIGHUP (signals.Stopped), anything else
        _kill(proc)
        raise
    finally:
        with _lock:
            _running.discard(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


_UNSET = re.compile(
    rb"\b([A-Za-z_][A-Za-z0-9_]*): (?:parameter (?:null or not set|not set or null|not set)"
    rb"|unbound variable)"
)
"""A shell's words for ``${VAR:?}`` (dash, bash, zsh, busybox) or ``set -u`` on an unset
variable."""


def unset_variable(stderr: bytes) -> str | None:
    """The variable a failed command's shell said is not set (``mcp import`` writes values
    as ``printf ... "${VAR:?}"``), if it said so."""
    found = _UNSET.search(stderr)
    return found.group(1).decode() if found else None


def failed(
    proc: subprocess.CompletedProcess[bytes], named: str, shown: str, *, needed_by: str,
    change: str = "the value in the config",
) -> ConfigError:  # fmt: skip
    """The error for a secret's command ``named`` (``shown``: the command, redacted) that
    failed or printed nothing: the variable its shell said is unset (``needed_by``: the
    setting; ``change``: where to fix it instead) when it said so, else how it ended, with
    the command to run by hand. The one wording of ``api_key_cmd``, headers and MCP values."""
    unset = unset_variable(proc.stderr) if proc.returncode else None
    if unset is not None:
        needed = f" (needed by {needed_by})" if needed_by else ""
        return ConfigError(
            f"environment variable {unset} is not set, or empty{needed}",
            hint=f"set it (export {unset}=...), or change {change}",
        )
    why = f"exited with {proc.returncode}" if proc.returncode else "printed nothing"
    return ConfigError(f"{named} {why}", hint=f"run it yourself to check: {shown}")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc``'s process group (before its leader is reaped, so the id is still its
    own), then reap the leader."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


@atexit.register
def _kill_leftovers() -> None:
    """Commands whose waiting thread was abandoned (a daemon thread at exit)."""
    with _lock:
        left = list(_running)
        _running.clear()
    for proc in left:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
