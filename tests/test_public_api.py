"""The typed public API (issue 13.7): every stage package exports a small ``__all__`` whose names
exist, are the real objects (no ``**kwargs`` wrapper hiding a signature) and are fully annotated.

Why a test and not only mypy: mypy checks the types it is shown; it does not notice a new public
function with no annotations at all, nor an ``__all__`` name that only resolves at run time.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import riskcohort

# Every sub-package of riskcohort except internal plumbing (alembic migrations, indicator defs).
INTERNAL = {"riskcohort.app.migrations", "riskcohort.features.defs"}
STAGES = sorted(
    info.name
    for info in pkgutil.walk_packages(riskcohort.__path__, "riskcohort.")
    if info.ispkg and not any(info.name == p or info.name.startswith(p + ".") for p in INTERNAL)
)
REQUIRED = {"riskcohort.contract", "riskcohort.features", "riskcohort.modelling",
            "riskcohort.explain", "riskcohort.tracking", "riskcohort.governance",
            "riskcohort.app", "riskcohort.runfolder", "riskcohort.workflow",
            "riskcohort.datasets", "riskcohort.simulate", "riskcohort.tabular"}


def missing_annotations(func: object) -> list[str]:
    """Parameters (and ``return``) of ``func`` without a type annotation."""
    sig = inspect.signature(func)  # type: ignore[arg-type]
    missing = [name for name, p in sig.parameters.items()
               if name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty and func.__name__ != "__init__":  # type: ignore[attr-defined]
        missing.append("return")
    return missing


def public_functions(package: str) -> list[tuple[str, object]]:
    """(qualified name, function) for each exported function and each exported class's own
    public methods (including ``__init__``)."""
    module = importlib.import_module(package)
    out: list[tuple[str, object]] = []
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isfunction(obj):
            out.append((f"{package}.{name}", obj))
        elif inspect.isclass(obj) and obj.__module__.startswith("riskcohort."):
            for attr, member in vars(obj).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                public = attr == "__init__" or not attr.startswith("_")
                # dataclass-generated methods have a foreign __qualname__; skip them
                own = inspect.isfunction(member) and member.__qualname__.startswith(
                    obj.__qualname__ + ".")
                if public and own:
                    out.append((f"{package}.{name}.{attr}", member))
    return out


def test_every_stage_is_found():
    assert set(STAGES) >= REQUIRED, f"missing stage packages: {sorted(REQUIRED - set(STAGES))}"


@pytest.mark.parametrize("package", STAGES)
def test_all_names_are_defined(package):
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    assert names, f"{package} has no __all__"
    assert len(names) == len(set(names)), f"{package}.__all__ repeats a name"
    undefined = [n for n in names if not hasattr(module, n)]
    assert not undefined, f"{package}.__all__ names undefined objects: {undefined}"


@pytest.mark.parametrize("package", STAGES)
def test_exports_are_real_objects_not_wrappers(package):
    """A name exported by the package is the object defined in its module, so ``help()`` and
    IDEs show the real signature; a ``(*args, **kwargs)`` stand-in would hide it."""
    module = importlib.import_module(package)
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isfunction(obj):
            kinds = {p.kind for p in inspect.signature(obj).parameters.values()}
            assert inspect.Parameter.VAR_KEYWORD not in kinds, (
                f"{package}.{name} takes **kwargs: export the real function instead")


@pytest.mark.parametrize("package", STAGES)
def test_public_functions_are_annotated(package):
    bad = {qual: missing for qual, func in public_functions(package)
           if (missing := missing_annotations(func))}
    assert not bad, f"public functions without type hints (name: unannotated): {bad}"


def test_modelling_import_still_works():
    from riskcohort.modelling import CohortModel

    assert CohortModel.__module__ == "riskcohort.modelling.model"


def test_annotation_check_can_fail():
    def untyped(a, b: int):  # deliberately unannotated
        return a

    def typed(a: int, b: int = 0) -> int:
        return a

    assert missing_annotations(untyped) == ["a", "return"]
    assert missing_annotations(typed) == []
