"""How a batch job ends, by one rule for the Batch API and the local runner.

A job none of whose requests was answered (each failed: refused, cut at the token limit, an
invalid answer, the network) is ``failed``, however its provider batch ended (a job the user
cancelled stays ``cancelled``), and every command that reports its end says so with an
error: ``submit`` and ``wait`` that finish it, and ``wait``, ``status`` and ``results``
afterwards (SPEC §7: exit 6 when the network failed them all, else 5), so a script never
takes a job with no answer for a success. The job's stored error says which
(``EVERY_FAILED``, ``NETWORK_FAILED``), since the requests' own errors are stored as text.
"""

from __future__ import annotations

from chatcli.errors import APIError, ChatcliError, NetworkError
from chatcli.store.jobs import JobRow

EVERY_FAILED = "every request failed: "
NETWORK_FAILED = "the network failed every request: "
"""How a job's stored error begins when no request of it was answered; the second says the
command ends with exit 6 (a relay down, a proxy refusing), not 5."""


def every_failed(errors: list[ChatcliError] | list[str]) -> str:
    """The stored error of a job none of whose requests was answered."""
    first = errors[0] if errors else "no reason given"
    text = first.message if isinstance(first, ChatcliError) else first
    network = bool(errors) and all(isinstance(e, NetworkError) for e in errors)
    return (NETWORK_FAILED if network else EVERY_FAILED) + text


def failure(
    job: JobRow, batch_hint: str | None = None, *, results_said: bool = False
) -> ChatcliError:
    """The error a command ends with for a ``failed`` job (SPEC §7), the same for the
    Batch API and the local runner, for ``submit``, ``wait``, ``status`` and ``results``:
    exit 6 when the network failed every request, else 5. ``batch_hint``: the endpoint's
    advice for a batch the provider failed as a whole; ``results_said``: the command
    listed the failed requests itself."""
    reason = job.error or "every request failed"
    shown = reason.removeprefix(NETWORK_FAILED).removeprefix(EVERY_FAILED)
    if results_said:
        hint = f"chatcli batch retry {job.name}  # submits only these"
    elif reason != shown:  # no request was answered: they can be sent again
        hint = f"see: chatcli batch results {job.name}; chatcli batch retry {job.name} sends "
        hint += "them again"
    else:
        hint = batch_hint or f"see: chatcli batch status {job.name}"
    kind = NetworkError if reason.startswith(NETWORK_FAILED) else APIError
    return kind(f"batch job {job.name} failed: {shown}", hint=hint)
