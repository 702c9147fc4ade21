"""The package's shape, checked from its source: no import cycles (counting imports inside
functions, which still run), no feature reaching into another's private names, and the layers
importing only downwards where the architecture says so. Read with ``ast``; nothing is run."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.source_helpers import parsed

PACKAGE = Path(__file__).resolve().parent.parent / "chatcli"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _target(name: str) -> str | None:
    """The chatcli module ``name`` (a module, or a name inside one) is."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


def _imports(tree: ast.AST) -> Iterator[tuple[str, str | None, int]]:
    """(module, imported name or None, line) of every import that runs, wherever it is
    (inside functions too); ``if TYPE_CHECKING:`` blocks never run and are skipped."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        stack.extend(ast.iter_child_nodes(node))


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        deps = set()
        for module, imported, _ in _imports(parsed(path)):
            if not module.startswith("chatcli"):
                continue
            target = _target(f"{module}.{imported}" if imported else module)
            if target and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_counting_imports_inside_functions() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _feature(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "features" else None


def test_no_feature_imports_another_features_private_names() -> None:
    leaks = []
    for name, path in MODULES.items():
        mine = _feature(name)
        for module, imported, line in _imports(parsed(path)):
            theirs = _feature(module)
            private = imported is not None and imported.startswith("_")
            if theirs is not None and theirs != mine and private:
                leaks.append(f"{path.name}:{line} imports {module}.{imported}")
    assert leaks == []


LAYERS = {
    # module prefix -> prefixes it must never import (the layers above it)
    "chatcli.providers": ("chatcli.features", "chatcli.cli", "chatcli.repl", "chatcli.session"),
    "chatcli.store": ("chatcli.features", "chatcli.cli", "chatcli.repl", "chatcli.providers"),
    "chatcli.settings": ("chatcli.features", "chatcli.cli", "chatcli.repl", "chatcli.providers"),
    "chatcli.session": ("chatcli.features", "chatcli.cli", "chatcli.repl"),
    "chatcli.inputs": ("chatcli.features", "chatcli.cli", "chatcli.repl"),
    "chatcli.features": ("chatcli.cli", "chatcli.repl"),
    "chatcli.repl": ("chatcli.cli",),
    "chatcli.errors": ("chatcli",),  # the ground floor: no chatcli import at all
    "chatcli.environment": ("chatcli",),
}


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_nothing_imports_upward() -> None:
    upward = []
    for name, path in MODULES.items():
        banned = next((b for p, b in LAYERS.items() if _within(name, p)), ())
        for module, _, line in _imports(parsed(path)):
            if module != name and any(_within(module, b) for b in banned):
                upward.append(f"{name}:{line} imports {module}")
    assert upward == []


def _type_modules() -> set[str]:
    """The endpoint-type modules of ``providers/`` (from the registry) and the registry."""
    from chatcli.settings.endpoint_types import ENDPOINT_TYPES

    owners = {f"chatcli.providers.{t.module}" for t in ENDPOINT_TYPES.values()}
    return owners | {"chatcli.settings.endpoint_types"}


def _type_tests(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Where ``tree`` compares, indexes or passes a profile's ``type``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare | ast.Subscript | ast.Call):
            continue
        inner = [node.left, *node.comparators] if isinstance(node, ast.Compare) else []
        inner += [node.slice] if isinstance(node, ast.Subscript) else []
        inner += (
            [*node.args, *(k.value for k in node.keywords)] if isinstance(node, ast.Call) else []
        )
        for part in inner:
            text = ast.unparse(part)
            if text == "profile.type" or text.endswith(".profile.type"):
                yield text, node.lineno


def test_only_the_endpoint_type_modules_look_at_a_profiles_type() -> None:
    """An endpoint type's behaviour on every route lives in its module under providers/ (the
    one ``settings.endpoint_types`` registers); nothing else branches on the type, neither
    the rest of providers/ (chat, sdk, audio, speech, images, batches) nor settings, features
    or the CLI (showing it is fine)."""
    allowed = _type_modules()
    found = []
    for name, path in MODULES.items():
        if name in allowed:
            continue
        for text, line in _type_tests(parsed(path)):
            found.append(f"{name}:{line} tests {text}")
    assert found == []


def test_the_type_check_finds_one() -> None:
    source = 'if self.profile.type == "azure":\n    f(profile.type)\nx = T[profile.type]\n'
    assert sorted(line for _, line in _type_tests(ast.parse(source))) == [1, 2, 3]
    assert "chatcli.providers.azure" in _type_modules()


RAW_OPTIONS: dict[tuple[str, str | None], str] = {
    # (module, name): what only cli/ (and settings/ that defines them) may touch
    ("chatcli.settings.options", "Globals"): "the raw global options",
    ("chatcli.settings.resolve", "Globals"): "the raw global options",
    ("chatcli.settings.resolve", "load_config"): "loads the config",
    ("chatcli.settings.resolve", "invocation"): "loads the config",
    ("chatcli.settings.resolve", "resolve"): "loads the config",
    ("chatcli.settings.resolve", "staged"): "loads the config",
    ("chatcli.settings.resolve", "config_file"): "finds the config file",
    ("chatcli.settings.paths", "config_path"): "finds the config file",
    ("chatcli.settings.loading", "load"): "loads the config",
}
LOADERS = {"load_config", "config_path", "Globals"}


def _raw_option_uses(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """What in ``tree`` sees the raw global options or loads the config itself: an import of
    one of ``RAW_OPTIONS``, or an attribute reaching one (``paths.config_path(...)``,
    ``resolve.Globals``, ``loading.load(...)``)."""
    for module, imported, line in _imports(tree):
        if (module, imported) in RAW_OPTIONS:
            yield f"imports {module}.{imported} ({RAW_OPTIONS[module, imported]})", line
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in LOADERS:
            yield f"uses {ast.unparse(node)}", node.lineno
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "load"
            and isinstance(node.value, ast.Name)
            and node.value.id in ("loading", "cfgmod", "config")
        ):
            yield f"uses {ast.unparse(node)} (loads the config)", node.lineno


def test_features_receive_resolved_settings_never_the_raw_options() -> None:
    """Each command resolves its options once, at its edge (``cli/`` with
    ``settings.resolve``), into the frozen value its feature receives (``Env``,
    ``Invocation``, ``Staged``, a ``Config`` or a path); below ``cli/`` (features, the REPL,
    the session, providers, the store...) nothing sees ``Globals`` or reads the config again;
    ``settings/`` defines them."""
    found = []
    for name, path in MODULES.items():
        edge = ("chatcli.cli", "chatcli.settings", "chatcli.__main__")
        if any(_within(name, p) for p in edge):
            continue
        for what, line in _raw_option_uses(parsed(path)):
            found.append(f"{name}:{line} {what}")
    assert found == []


def test_the_raw_options_check_finds_them() -> None:
    source = (
        "from chatcli.settings.resolve import Globals\n"
        "from chatcli.settings import paths\n"
        "def f():\n"
        "    from chatcli.settings.resolve import load_config\n"
        "    return paths.config_path(None), loading.load(p)\n"
    )
    found = sorted(line for _, line in _raw_option_uses(ast.parse(source)))
    assert found == [1, 4, 5, 5]


def test_no_private_typer_or_bare_click_import() -> None:
    """Typer's public API only (``typer``, ``typer.main``): its vendored click
    (``typer._click``) and other private modules change without notice between releases, and
    a bare ``click`` is not what Typer runs on."""
    found = []
    for name, path in MODULES.items():
        for module, imported, line in _imports(parsed(path)):
            dotted = f"{module}.{imported}" if imported else module
            parts = dotted.split(".")
            private = parts[0] == "typer" and any(p.startswith("_") for p in parts[1:])
            if private or parts[0] == "click":
                found.append(f"{name}:{line} imports {dotted}")
    assert found == []


def test_only_the_workers_module_makes_a_thread_pool() -> None:
    """Ctrl-C reaches only the main thread: a pool made anywhere but ``features/workers.py``
    would leave its requests waiting on a slow server after it (each command once did)."""
    found = []
    for name, path in MODULES.items():
        if name == "chatcli.features.workers":
            continue
        for node in ast.walk(parsed(path)):
            named = (
                (isinstance(node, ast.Name) and node.id == "ThreadPoolExecutor")
                or (isinstance(node, ast.Attribute) and node.attr == "ThreadPoolExecutor")
                or (isinstance(node, ast.alias) and node.name == "ThreadPoolExecutor")
            )
            if named:
                found.append(f"{name}:{getattr(node, 'lineno', '?')}")
    assert found == []
