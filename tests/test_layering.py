"""One-way layering of the stages, checked on the source (every import, function-local too).

Data flows contract -> features -> modelling -> explain -> tracking -> governance/app, and a
stage may import only from its own layer or below. ``runfolder``, ``io``, ``errors`` (and the
other foundation modules) are usable by all and import no stage. The jobs (``workflow``) chain
the stages and no stage imports them; the CLI wiring (``cli``, every ``*/commands.py``, ``demo``)
sits on top. Stages form no import cycle. A future upward import fails here, naming the file,
the line and both layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "riskcohort"

#: Layer of each top-level part of ``riskcohort`` (lower = more basic).
LAYERS = {
    "": 0, "_offline": 0, "errors": 0, "io": 0, "runfolder": 0, "interrupts": 0,
    "memory": 0,  # what the process holds, logged by every heavy stage
    "spark": 0,  # the Spark session and --engine choice, shared by features and modelling
    "contract": 1,
    "features": 2, "simulate": 2, "display": 2,  # display names indicators from the catalogue
    "modelling": 3, "impact": 3,  # impact estimates read contract/features/modelling only
    "explain": 4,
    "tracking": 5,
    "governance": 6, "app": 6, "datasets": 6,
    "tabular": 7,
    "workflow": 8, "preflight": 8,  # preflight checks the job's folders and tracking store
    "cli": 9, "demo": 9,
}
CLI = 9  #: ``<stage>/commands.py`` modules are CLI wiring, whatever their stage
#: Process entry points other than the CLI: wiring too (the app's worker-process factory).
ENTRY_POINTS = {"riskcohort.app.server"}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def part_of(module: str) -> str:
    """Top-level part of a ``riskcohort`` module name ('' for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(module: str) -> int:
    if module.split(".")[-1] == "commands" or module in ENTRY_POINTS:
        return CLI
    part = part_of(module)
    if part not in LAYERS:
        raise AssertionError(f"module {module}: part {part!r} has no layer in tests/test_layering"
                             ".py; add it where it belongs in the one-way flow")
    return LAYERS[part]


def imports(path: Path, package: list[str] | None = None) -> list[tuple[int, str]]:
    """(line, imported riskcohort module) for every import in the file, nested ones included
    (``package``: the file's package, for relative imports; default from its path)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        package = module_name(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]  # submodules
    return [(line, m) for line, m in out if m == "riskcohort" or m.startswith("riskcohort.")]


def _known(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def edges() -> list[tuple[str, int, str, str]]:
    """(file, line, importer, imported) over the whole package."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        me = module_name(path)
        for line, target in imports(path):
            if _known(target):
                out.append((str(path.relative_to(SRC.parent)), line, me, target))
    return out


#: Upward imports tolerated for now, each with who removes it. The list may only shrink: an
#: entry that no longer occurs fails ``test_known_exceptions_still_occur``.
KNOWN: set[tuple[str, str]] = set()


def upward(all_edges, known=frozenset()) -> list[str]:
    bad = []
    for file, line, me, target in all_edges:
        if (me, target) not in known and layer_of(target) > layer_of(me):
            bad.append(f"{file}:{line}: {me} (layer {layer_of(me)}) imports {target} "
                       f"(layer {layer_of(target)})")
    return bad


def stage_cycles(all_edges) -> list[list[str]]:
    """Cycles in the graph of top-level parts (commands modules count as the CLI)."""
    def node(m):
        return "cli" if layer_of(m) == CLI else part_of(m) or "riskcohort"

    graph: dict[str, set[str]] = {}
    for _, _, me, target in all_edges:
        a, b = node(me), node(target)
        if a != b:
            graph.setdefault(a, set()).add(b)
    cycles, state = [], {}

    def visit(n, stack):
        state[n] = "open"
        for m in sorted(graph.get(n, ())):
            if state.get(m) == "open":
                cycles.append([*stack[stack.index(m):], m])
            elif m not in state:
                visit(m, [*stack, m])
        state[n] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    return cycles


def test_no_stage_imports_upward():
    bad = upward(edges(), KNOWN)
    assert not bad, "upward imports (a stage may import only its own layer or below):\n" + \
        "\n".join(bad)


def test_known_exceptions_still_occur():
    found = {(me, target) for _, _, me, target in edges()}
    gone = sorted(KNOWN - found)
    assert not gone, f"remove these fixed entries from KNOWN: {gone}"


def test_no_import_cycle_between_stages():
    cycles = stage_cycles(edges())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_foundation_imports_no_stage():
    for path in [*(SRC / "runfolder").rglob("*.py"), SRC / "io.py", SRC / "errors.py"]:
        for line, target in imports(path):
            assert layer_of(target) == 0, f"{path.name}:{line} imports {target}"


def test_the_checks_can_fail(tmp_path):
    """The checker itself, on imports that break the rules (so a pass above means something)."""
    fake = [("riskcohort/tracking/x.py", 3, "riskcohort.tracking.x", "riskcohort.workflow.run"),
            ("riskcohort/workflow/run.py", 9, "riskcohort.workflow.run", "riskcohort.tracking.x"),
            ("riskcohort/modelling/y.py", 5, "riskcohort.modelling.y", "riskcohort.explain.z"),
            ("riskcohort/explain/z.py", 7, "riskcohort.explain.z", "riskcohort.modelling.y")]
    assert upward(fake) == [
        "riskcohort/tracking/x.py:3: riskcohort.tracking.x (layer 5) imports "
        "riskcohort.workflow.run (layer 8)",
        "riskcohort/modelling/y.py:5: riskcohort.modelling.y (layer 3) imports "
        "riskcohort.explain.z (layer 4)"]
    assert stage_cycles(fake) == [["explain", "modelling", "explain"],
                                  ["tracking", "workflow", "tracking"]]
    src = tmp_path / "m.py"  # function-local and relative imports are found too
    src.write_text("import os\n\ndef f():\n    from riskcohort.workflow import run\n"
                   "    from ..explain import scored\n")
    found = imports(src, package=["riskcohort", "tracking"])
    assert (4, "riskcohort.workflow") in found and (5, "riskcohort.explain.scored") in found
    with pytest.raises(AssertionError, match="has no layer"):
        layer_of("riskcohort.brand_new_stage.x")
