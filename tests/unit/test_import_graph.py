"""geo/ has no import cycle and stays below api/: checked on the source (graphlib) and in a fresh interpreter."""

from __future__ import annotations

import ast
import graphlib
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "geo").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """The geo modules `name` imports anywhere (function bodies too), and the top-level packages it imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    geo, roots = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
            geo |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
            if node.module not in MODULES:
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in MODULES:
                    geo.add(sub)
                # Importing from a package runs its __init__, except from inside it (already running).
                if sub not in MODULES or not (package + ".").startswith(node.module + "."):
                    geo.add(node.module)
    geo.discard(name)
    return geo, roots


def test_geo_has_no_import_cycle():
    graph = {name: _imports(name, path)[0] for name, path in MODULES.items()}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle in geo/: {' → '.join(exc.args[1])}")


def test_the_checker_sees_a_cycle_through_a_late_import(tmp_path):
    """The check itself can fail: a cycle hidden in a function body (as ingest ↔ ingest_files once was)."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from geo.b import x\n")
    b.write_text("def f():\n    from geo.a import y\n")
    saved = dict(MODULES)
    MODULES.update({"geo.a": a, "geo.b": b})
    try:
        graph = {"geo.a": _imports("geo.a", a)[0], "geo.b": _imports("geo.b", b)[0]}
    finally:
        MODULES.clear()
        MODULES.update(saved)
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter(graph).static_order())


def test_geo_never_imports_the_http_layer():
    offenders = {
        name: sorted(roots & {"api", "fastapi", "starlette"})
        for name, path in MODULES.items()
        if (roots := _imports(name, path)[1]) & {"api", "fastapi", "starlette"}
    }
    assert offenders == {}


def test_every_geo_module_imports_in_a_fresh_interpreter_in_random_order():
    seed = random.randrange(1 << 30)
    order = list(MODULES)
    random.Random(seed).shuffle(order)
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    done = subprocess.run(
        [sys.executable, "-c", script, *order], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"seed {seed}: {done.stderr[-2000:]}"
