"""Audit 9, security: a URL's credentials (the password, and a user name that is the token) and
pieces of a key stay out of every output: error lines, ``--debug`` tracebacks, ``doctor``,
``config show``, file names made from URLs, the REPL's history file; a ``base_url`` holding
``USER:PASS@`` is refused rather than silently replacing the API key; ``cmd --execute`` logs
the command with its hidden characters named.

The real CLI, in process (``run_cli``) or as a process (``run_process``, a pty for the REPL),
against the fake server; every output and written file is searched for the secret.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli, run_process
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Raw, Reply

ROOT = Path(__file__).resolve().parent.parent
KEY = DEFAULT_API_KEY
BASE_PASSWORD = "BaseUrlSecret77"
DOC_PASSWORD = "DocPassw0rd"
PROXY_TOKEN = "ZyteApiKey0123456789abcd"  # the key as the proxy's user name, password empty
BARE_TOKEN = "TOKENsecret123456"  # the key as the whole userinfo: http://TOKEN@host
AZURE_KEY = "azure-secret-key-9876"


def host(fake: FakeOpenAI) -> str:
    """``127.0.0.1:PORT`` of the fake."""
    return fake.root.removeprefix("http://")


def files_text(folder: Path) -> str:
    """The names and contents of every file under ``folder``, as one text to search."""
    found = []
    for path in sorted(folder.rglob("*")):
        found.append(str(path))
        if path.is_file():
            found.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(found)


def nowhere(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text, text


# 1. summarize URL -o DIR: the file name is made without the URL's user:password


@pytest.mark.parametrize("combine", [False, True])
def test_summarize_names_no_file_after_a_url_password(
    fake: FakeOpenAI, tmp_path: Path, combine: bool
) -> None:
    fake.pages["report.txt"] = (b"Quarterly numbers went up. " * 30, "text/plain")
    fake.pages["other.txt"] = (b"Costs went down. " * 30, "text/plain")
    urls = [
        f"http://alice:{DOC_PASSWORD}@{host(fake)}/pages/report.txt",
        f"http://{BARE_TOKEN}@{host(fake)}/pages/other.txt?sig=Sig0123456789abcdefXYZ",
    ]
    out = tmp_path / "sumout"
    extra = ["--combine"] if combine else []
    result = run_cli(
        "summarize", *urls, "-o", str(out), "--yes", *extra, env=fake_env(tmp_path, fake)
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    port = host(fake).rpartition(":")[2]
    assert f"127.0.0.1-{port}-pages-report.txt.md" in names
    assert f"127.0.0.1-{port}-pages-other.txt.md" in names
    for secret in (DOC_PASSWORD, BARE_TOKEN):
        nowhere(secret, result.stdout, result.stderr, files_text(out))
    nowhere("Sig0123456789abcdefXYZ", "\n".join(names))  # a signed URL's query: not in a name
    assert "done ->" in result.stderr and "http://alice:****@" in result.stderr
    # the document server still got the URL's credentials, as HTTP Basic auth
    page_auth = {r.path: r.headers.get("authorization") for r in fake.requests if "pages" in r.path}
    sent = base64.b64encode(f"alice:{DOC_PASSWORD}".encode()).decode()
    assert page_auth["/pages/report.txt"] == f"Basic {sent}"


# 2. --debug: the traceback is masked like the error line under it


def test_debug_traceback_masks_the_base_urls_password(tmp_path: Path) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY=KEY,
                    OPENAI_BASE_URL=f"http://u:{BASE_PASSWORD}@127.0.0.1:9/v1")  # fmt: skip
    result = run_process("--debug", "models", env=env)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "chatcli: error:" in result.stderr
    nowhere(BASE_PASSWORD, result.stdout, result.stderr)
    assert "http://u:****@127.0.0.1:9" in result.stderr


def _azure(tmp_path: Path, endpoint: str) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(
        f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{endpoint}"\n'
        'api_version = "2024-10-21"\napi_key_env = "MY_AZ_KEY"\nmodel = "gpt-4o"\n'
    )
    return clean_env(tmp_path, MY_AZ_KEY=AZURE_KEY)


def test_debug_traceback_masks_an_endpoints_password(tmp_path: Path) -> None:
    """An Azure endpoint's USER:PASS@ is sent (as Basic auth, beside ``api-key``), so a dead
    host is met: the traceback quotes the URL as the error was raised, and is masked."""
    env = _azure(tmp_path, f"http://gw:{BASE_PASSWORD}@127.0.0.1:9")
    result = run_process("--debug", "ask", "hi", env=env)
    assert result.returncode == 6, result.stderr
    assert "Traceback" in result.stderr
    assert "chatcli.errors.NetworkError: cannot connect to http://gw:****@127.0.0.1:9" in (
        result.stderr
    )
    nowhere(BASE_PASSWORD, result.stdout, result.stderr)


def test_an_azure_endpoints_credentials_go_as_basic_auth_beside_the_key(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key=AZURE_KEY) as fake:
        env = _azure(tmp_path, f"http://gw:{BASE_PASSWORD}@{host(fake)}")
        result = run_cli("--debug", "ask", "hello", env=env)
        assert result.returncode == 0, result.stderr
        sent = fake.chat_requests()[0].headers
    assert sent["api-key"] == AZURE_KEY
    assert (
        sent["authorization"]
        == "Basic " + base64.b64encode(f"gw:{BASE_PASSWORD}".encode()).decode()
    )
    assert "> authorization: Basic **** (the URL's USER:PASS@)" in result.stderr
    nowhere(BASE_PASSWORD, result.stdout, result.stderr)
    nowhere(AZURE_KEY, result.stdout, result.stderr)


@pytest.mark.parametrize(
    ("userinfo", "secret"), [(f"bob:{DOC_PASSWORD}", DOC_PASSWORD), (BARE_TOKEN, BARE_TOKEN)]
)
def test_debug_traceback_masks_a_document_urls_credentials(
    fake: FakeOpenAI, tmp_path: Path, userinfo: str, secret: str
) -> None:
    url = f"http://{userinfo}@127.0.0.1:9/notes.txt"  # nothing listens there
    result = run_process("--debug", "ask", "q", "-f", url, env=fake_env(tmp_path, fake))
    assert result.returncode == 6, result.stderr
    assert "Traceback" in result.stderr
    assert "cannot fetch http://" in result.stderr
    nowhere(secret, result.stdout, result.stderr)


# 3. a proxy's credential in the user name (http://APIKEY:@proxy, http://TOKEN@proxy)


@pytest.mark.parametrize(
    ("proxy", "secret"),
    [
        (f"http://{PROXY_TOKEN}:@127.0.0.1:9", PROXY_TOKEN),
        (f"http://{BARE_TOKEN}@127.0.0.1:9", BARE_TOKEN),
    ],
)
def test_a_proxy_token_in_the_user_name_is_masked_in_errors_doctor_and_debug(
    fake: FakeOpenAI, tmp_path: Path, proxy: str, secret: str
) -> None:
    env = fake_env(tmp_path, fake, HTTP_PROXY=proxy, HTTPS_PROXY=proxy, NO_PROXY="")
    ask = run_cli("ask", "hi", env=env)
    assert ask.returncode == 6, ask.stderr
    assert "cannot connect to the proxy http://****@127.0.0.1:9" in ask.stderr
    doctor = run_cli("doctor", env=env)
    assert "http://****@127.0.0.1:9 (env HTTP_PROXY)" in doctor.stdout
    debug = run_process("--debug", "ask", "hi", env=env)
    assert "Traceback" in debug.stderr
    nowhere(secret, ask.stdout, ask.stderr, doctor.stdout, doctor.stderr, debug.stderr)


def test_a_profiles_proxy_token_is_masked_in_config_show(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "r"\n[profiles.r]\ntype = "relay"\n'
        f'base_url = "http://127.0.0.1:9/v1"\napi_key = "{KEY}"\n'
        f'proxy = "http://{BARE_TOKEN}@127.0.0.1:9"\n'
    )
    config.chmod(0o600)
    env = clean_env(tmp_path)
    shown = run_cli("config", "show", env=env)
    as_json = run_cli("config", "show", "--json", env=env)
    ask = run_cli("ask", "hi", env=env)
    assert shown.returncode == 0 and as_json.returncode == 0, shown.stderr + as_json.stderr
    assert "http://****@127.0.0.1:9" in shown.stdout
    assert ask.returncode == 6
    for result in (shown, as_json, ask):
        nowhere(BARE_TOKEN, result.stdout, result.stderr)


# 4. a key typed into the REPL: masked in the history file, and so on screen after Up


def _chat_on_pty(env: dict[str, str], keys: list[bytes]) -> bytes:
    """``chatcli chat`` on a pty; each of ``keys`` typed at a fresh prompt, then Ctrl-D."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "chatcli", "chat"], stdin=slave,
                            stdout=slave, stderr=slave, env=env)  # fmt: skip
    os.close(slave)
    out = bytearray()

    def read_until(count: int) -> None:
        deadline = time.monotonic() + 30
        while out.count("› ".encode()) < count:
            assert time.monotonic() < deadline, out.decode("utf-8", "replace")
            if select.select([master], [], [], 0.1)[0]:
                out.extend(os.read(master, 65536))

    def type_at_prompt(data: bytes) -> None:
        deadline = time.monotonic() + 30
        while termios.tcgetattr(master)[3] & termios.ICANON:  # prompt_toolkit not reading yet
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.write(master, data)

    for n, data in enumerate([*keys, b"\x04"], start=1):
        read_until(n)
        type_at_prompt(data)
    assert proc.wait(timeout=30) == 0, out.decode("utf-8", "replace")
    try:
        while data := os.read(master, 65536):
            out.extend(data)
    except OSError:
        pass
    os.close(master)
    return bytes(out)


def test_a_key_typed_in_the_repl_is_masked_in_the_history_file(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake, LANG="C.UTF-8", TERM="dumb", PYTHONPATH=str(ROOT))
    _chat_on_pty(env, [f"secret is {KEY} ok\r".encode()])  # the terminal echoes it as typed
    history = (tmp_path / "data" / "history").read_text()
    assert f"+secret is ****{KEY[-4:]} ok" in history
    second = _chat_on_pty(env, [b"\x1b[A\r"])  # Up: the last message back, sent again
    with sqlite3.connect(tmp_path / "data" / "chatcli.db") as db:
        stored = "\n".join(str(r[0]) for r in db.execute("SELECT content FROM messages"))
    assert (
        fake.chat_requests()[-1].json["messages"][-1]["content"] == f"secret is ****{KEY[-4:]} ok"
    )
    nowhere(KEY, history, stored, second.decode("utf-8", "replace"))


# 5. a base_url with USER:PASS@ does not silently replace the API key


def test_a_base_url_with_credentials_is_refused_before_anything_is_sent(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake, OPENAI_BASE_URL=f"http://u:{BASE_PASSWORD}@{host(fake)}/v1")
    for args in (["ask", "hi"], ["models"], ["--debug", "models"]):
        result = run_cli(*args, env=env)
        assert result.returncode == 3, result.stderr
        assert (
            f"chatcli: error: the endpoint URL http://u:****@{host(fake)} holds a user name and "
            "password (USER:PASS@): sent as HTTP Basic auth they would replace the API key"
        ) in result.stderr
        assert "hint: remove USER:PASS@ from base_url (or OPENAI_BASE_URL)" in result.stderr
        nowhere(BASE_PASSWORD, result.stdout, result.stderr)
    assert fake.requests == []  # neither the key nor the password went anywhere


def test_an_image_request_with_a_base_url_holding_credentials_is_refused_too(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The SDK's routes build their clients in the same place as chat's."""
    env = fake_env(tmp_path, fake, OPENAI_BASE_URL=f"http://u:{BASE_PASSWORD}@{host(fake)}/v1")
    result = run_cli("image", "a cat", "-o", str(tmp_path / "cat.png"), env=env)
    assert result.returncode == 3, result.stderr
    assert "holds a user name and password" in result.stderr
    nowhere(BASE_PASSWORD, result.stdout, result.stderr)
    assert fake.requests == []


# 6. pieces of the key echoed by a server: masked in the error line and the traceback


def _echoing_pieces() -> Raw:
    pieces = f"key prefix {KEY[:14]} suffix {KEY[-10:]} url {KEY.replace('-', '%2D')}"
    return Raw(status=400, body=json.dumps({"error": {"message": pieces}}))


def _no_piece(*texts: str) -> None:
    for text in texts:
        for piece in (KEY[:14], KEY[-10:], KEY.replace("-", "%2D"), KEY[3:-4]):
            assert piece not in text, text


def test_pieces_of_the_key_in_an_error_are_masked(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(_echoing_pieces())
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert "key prefix **** suffix **** url ****" in result.stderr
    _no_piece(result.stdout, result.stderr)
    fake.script(_echoing_pieces())
    as_json = run_cli("ask", "--json", "hi", env=fake_env(tmp_path, fake))
    _no_piece(as_json.stdout, as_json.stderr)


def test_pieces_of_the_key_are_masked_in_the_debug_traceback(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(_echoing_pieces())
    result = run_process("--debug", "ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert "Traceback" in result.stderr
    _no_piece(result.stdout, result.stderr)


# 7. cmd --execute: the "running:" line names what a terminal would not show


def test_the_running_line_names_hidden_characters(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="echo ok #\x1b]0;T\x07\x1b[1A\x1b[2Khidden\u202eabc"))
    result = run_cli("cmd", "--shell", "bash", "--execute", "--yes", "--yes-destructive", "x",
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "chatcli: running: echo ok #⟨U+001B⟩]0;T⟨U+0007⟩⟨U+001B⟩[1A⟨U+001B⟩[2Khidden⟨U+202E⟩abc"
    ) in result.stderr
