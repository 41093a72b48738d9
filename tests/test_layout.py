"""The import rules of doc/ARCHITECTURE.md, read from the source with ast.

Each package of ndpmon/ is one stage of the flow from frame to action. A module may
import only from its own stage or from earlier ones, there are no import cycles, the
pure core imports nothing that does I/O, and the engine never calls a plugin's I/O
hooks. A change that breaks one of these rules fails here, naming the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ndpmon"

#: The stages, earliest first: a module may import its own stage and earlier ones.
STAGES: tuple[tuple[str, ...], ...] = (
    ("errors", "__init__"),
    ("codec", "files"),
    ("config",),
    ("state",),
    ("checks",),
    ("engine",),
    ("capture", "formats", "proxy"),
    ("alerts",),
    ("store",),
    ("run",),
    ("commands",),
    ("plugin", "__main__"),
)
RANK = {unit: rank for rank, units in enumerate(STAGES) for unit in units}
#: The pure core: decoding, checks and state are functions of (bytes, state, time).
PURE = ("codec", "config.model", "config.values", "config.rulefields", "state", "checks",
        "engine")
#: Names the pure core may import from an I/O module: address text conversions only.
PURE_NAMES = {"socket": {"inet_ntop", "inet_pton", "AF_INET", "AF_INET6"}}
#: Modules that do I/O of the kinds the pure core must not do.
IO_MODULES = {"socket", "subprocess", "threading", "multiprocessing", "select", "shutil",
              "tempfile", "asyncio", "smtplib", "syslog", "signal", "fcntl", "mmap",
              "ndpmon.files", "ndpmon.formats", "ndpmon.capture", "ndpmon.alerts",
              "ndpmon.store", "ndpmon.run", "ndpmon.commands"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """(module imported, line) for every import in the file, relative ones resolved;
    imports under ``if TYPE_CHECKING:`` are left out (they never run)."""
    tree = ast.parse(path.read_text(), str(path))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base in PURE_NAMES and {a.name for a in node.names} <= PURE_NAMES[base]:
                continue  # e.g. socket.inet_ntop: text conversion, no I/O
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in MODULES else base, node.lineno))
    return found


def _unit(module: str) -> str:
    """The stage unit of an ndpmon module: its package under ndpmon/, or itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


GRAPH = {name: [(dep, line) for dep, line in _imports(name, path) if dep in MODULES]
         for name, path in MODULES.items()}


def test_every_package_has_a_stage():
    """A new package must be placed in STAGES (and in doc/ARCHITECTURE.md)."""
    assert sorted({_unit(m) for m in MODULES} - set(RANK)) == []


def test_lower_stages_never_import_higher_ones():
    """An import from a later stage of the flow is refused, naming file and line."""
    wrong = [f"{MODULES[m].relative_to(ROOT)}:{line}: {m} imports {dep}"
             for m, deps in GRAPH.items() for dep, line in deps
             if RANK[_unit(dep)] > RANK[_unit(m)]]
    assert wrong == []


def test_no_import_cycles():
    """No module reaches itself through its imports (lazy ones included)."""
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep, _line in GRAPH[node]:
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for name in MODULES:
        if name not in state:
            visit(name, [])
    assert cycles == []


def _pure(module: str) -> bool:
    rest = module.partition(".")[2]
    return any(rest == p or rest.startswith(p + ".") for p in PURE)


@pytest.mark.parametrize("module", [m for m in MODULES if _pure(m)])
def test_pure_core_does_no_io(module):
    """Codec, config values, state, checks and engine import no socket, subprocess,
    thread, signal or file-writing module, directly or through ndpmon's own modules."""
    seen, todo, bad = set(), [module], []
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for dep, line in _imports(current, MODULES[current]):
            if any(dep == io or dep.startswith(io + ".") for io in IO_MODULES):
                bad.append(f"{MODULES[current].relative_to(ROOT)}:{line}: imports {dep}")
            elif dep in MODULES:
                todo.append(dep)
    assert bad == []


def test_engine_calls_no_plugin_io_hook():
    """The engine runs checks and the ``frame`` filter only: a plugin's I/O (ndproxy's
    answers, countermeasures) runs in the pipeline after the engine, never inside
    ``Engine.handle``."""
    source = (PACKAGE / "engine" / "engine.py").read_text()
    tree = ast.parse(source)
    handle = next(n for n in ast.walk(tree)
                  if isinstance(n, ast.FunctionDef) and n.name == "handle")
    called = {n.attr for n in ast.walk(handle) if isinstance(n, ast.Attribute)}
    assert not called & {"notify", "after", "send", "start", "stop", "tick"}
