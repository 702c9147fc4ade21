"""Rules for tools that keep data of their own: git, containers, clusters, infrastructure,
cloud storage, and the SQL a database client runs."""

from __future__ import annotations

import posixpath
import re

from chatcli.features.shell.danger import workdir
from chatcli.features.shell.danger.options import option_values, skip_options, split_flags
from chatcli.features.shell.danger.paths import after

_SQL = (
    (re.compile(r"\bdrop\s+(table|database|schema|user|collection)\b", re.I), "drops {what}"),
    (re.compile(r"\btruncate\s+(table\s+)?[\w.\"`]+", re.I), "empties a table (TRUNCATE)"),
    (re.compile(r"\bdelete\s+from\s+[\w.\"`]+\s*(;|$)", re.I), "deletes every row (no WHERE)"),
    (re.compile(r"\bflushall\b|\bflushdb\b|\bdropDatabase\(", re.I), "erases a whole database"),
)
# the programs that run the SQL (or the commands, for mongosh and redis-cli) given to them;
# cockroach and clickhouse with the subcommand that does
_CLIENTS = {"psql", "mysql", "mariadb", "sqlite3", "duckdb", "clickhouse-client", "sqlcmd",
            "mongosh", "mongo", "redis-cli", "valkey-cli"}  # fmt: skip
_SUBCOMMANDS = {"cockroach": "sql", "clickhouse": "client"}
_CONTAINERS = {"docker", "podman", "nerdctl", "docker-compose", "kubectl", "oc"}
_GIT_VALUES = frozenset({"--git-dir", "--work-tree", "--namespace", "--config-env"})
# pathspecs naming the whole working tree: ".", its top (":/"), every file ("*")
_WHOLE_TREE = {".", "./", ":/", ":/.", ":(top)", "*", ":/*"}


def sql_client(words: list[str]) -> int | None:
    """Where in ``words`` (wrappers taken off) the database client is that runs what follows
    it: 0 for ``psql ...``, 1 for ``cockroach sql ...``, further on in a container
    (``docker exec db psql ...``, ``kubectl exec pod -- mysql ...``); None when the command
    runs no database client, so that ``echo``, ``grep`` or ``git commit -m`` with SQL in their
    text are not taken for one."""
    name = posixpath.basename(words[0]) if words else ""
    inside = name in _CONTAINERS and bool({"exec", "run"} & set(words[1:]))
    for index, word in enumerate(words if inside else words[:1]):
        name = posixpath.basename(word)
        if name in _CLIENTS:
            return index
        if name in _SUBCOMMANDS and words[index + 1 : index + 2] == [_SUBCOMMANDS[name]]:
            return index + 1
    return None


def sql(text: str, found: list[str]) -> None:
    """SQL in ``text``, given to a database client (``sql_client``), that erases data
    (``DROP TABLE``, ``TRUNCATE``, ``DELETE`` without ``WHERE``, ``FLUSHALL``)."""
    for pattern, reason in _SQL:
        match = pattern.search(text)
        if match:
            what = " ".join(match.group(0).split()[:2]).upper()
            found.append(reason.format(what=f"data ({what})"))


def git(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """git: a forced or deleting push, and the subcommands that throw away work or history
    (``reset --hard``, ``clean -f``, ``branch -D``, ``reflog expire``, ``filter-branch``,
    ...); git's own options before the subcommand are skipped, and ``-C DIR`` says where the
    work thrown away is (``git -C / clean -fdx``), as a ``cd`` before it does."""
    with workdir.scope():
        for directory in option_values(words, 1, "Cc", _GIT_VALUES, {"-C"}):
            workdir.enter(directory, f"git -C {directory}")
        _git(words, found)


def _git(words: list[str], found: list[str]) -> None:
    """``git``'s rule, in the directory it works in."""
    i = skip_options(words, 1, "Cc", _GIT_VALUES)
    if i >= len(words):
        return
    sub, rest = words[i], words[i + 1 :]
    flags, operands = split_flags(rest)
    where = after()
    if sub == "push":
        forced = flags & {"f", "--force", "--force-with-lease", "--force-if-includes", "--mirror"}
        if forced or any(o.startswith("+") for o in operands):
            found.append("git push --force: overwrites history on the remote")
        if flags & {"d", "--delete"} or any(o.startswith(":") for o in operands):
            found.append("git push --delete: deletes a branch or tag on the remote")
    elif sub == "reset" and "--hard" in flags:
        found.append(f"git reset --hard: throws away uncommitted changes{where}")
    elif sub == "clean" and flags & {"f", "--force"}:
        found.append(f"git clean -f: deletes untracked files{where}")
    elif sub == "branch" and (
        "D" in flags or (flags & {"d", "--delete"} and flags & {"f", "--force"})
    ):
        found.append("git branch -D: deletes a branch even if it is not merged")
    elif sub == "stash" and operands[:1] in (["clear"], ["drop"]):
        found.append(f"git stash {operands[0]}: deletes stashed changes")
    elif sub in ("checkout", "restore") and _WHOLE_TREE & set(operands) and _worktree(sub, flags):
        found.append(f"git {sub} .: throws away uncommitted changes{where}")
    elif sub in ("checkout", "switch") and flags & {"f", "--force", "--discard-changes"}:
        found.append(f"git {sub} --force: throws away uncommitted changes{where}")
    elif sub == "rm" and _WHOLE_TREE & set(operands) and _forced_rm(flags):
        found.append(f"git rm -f .: deletes every tracked file, uncommitted changes too{where}")
    elif sub == "worktree" and operands[:1] == ["remove"] and flags & {"f", "--force"}:
        found.append(
            "git worktree remove --force: deletes a working tree with its uncommitted changes"
        )
    elif sub == "reflog" and operands[:1] in (["expire"], ["delete"]):
        found.append(f"git reflog {operands[0]}: deletes the record that lets lost commits back")
    elif sub == "gc" and any(f.startswith("--prune") for f in rest) and "--prune=never" not in rest:
        found.append("git gc --prune: deletes unreachable commits for good")
    elif sub in ("filter-branch", "filter-repo"):
        found.append(f"git {sub}: rewrites the whole history")
    elif sub == "update-ref" and flags & {"d"}:
        found.append("git update-ref -d: deletes a branch or ref")


def _forced_rm(flags: set[str]) -> bool:
    """Whether ``git rm`` deletes files from the working tree even with changes not committed
    (``-f``; ``--cached`` leaves the files where they are)."""
    return bool(flags & {"f", "--force"}) and "--cached" not in flags


def _worktree(sub: str, flags: set[str]) -> bool:
    """Whether ``git checkout`` or ``git restore`` with these flags writes over the working
    tree: ``restore --staged`` alone changes only the index."""
    staged = flags & {"S", "--staged"}
    return sub == "checkout" or not staged or bool(flags & {"W", "--worktree"})


def docker(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """docker, podman, docker-compose: pruning, removing volumes or whatever a command
    lists, ``compose down -v``."""
    program = posixpath.basename(words[0])
    args = words[1:]
    if "prune" in args or args[:2] in (["volume", "rm"], ["volume", "remove"]):
        found.append(f"{program} deletes containers, images or volumes")
    elif any(w in ("rm", "rmi", "remove") for w in args[:2]) and any("$(" in w for w in args):
        found.append(f"{program} rm: deletes every container or image a command lists")
    elif "down" in args and {"-v", "--volumes"} & set(args):
        shown = "docker-compose" if program == "docker-compose" else f"{program} compose"
        found.append(f"{shown} down -v: deletes the project's volumes (their data)")


def kubectl(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """kubectl delete."""
    if "delete" in words[1:]:
        found.append("kubectl delete: deletes cluster resources")


def terraform(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """terraform or tofu destroy."""
    if "destroy" in words[1:]:
        found.append(f"{posixpath.basename(words[0])} destroy: deletes the infrastructure")


def cloud_storage(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """aws and gsutil: a recursive rm of stored objects, ``aws s3 rb --force``."""
    flags, operands = split_flags(words[1:])
    if "rm" in operands[:2] and flags & {"r", "R", "--recursive"}:
        found.append(f"{posixpath.basename(words[0])} rm --recursive: deletes stored objects")
    if operands[:2] == ["s3", "rb"] and "--force" in flags:
        found.append("aws s3 rb --force: deletes a bucket and everything in it")
