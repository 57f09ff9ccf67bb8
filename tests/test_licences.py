"""Licences: journeyscope is Apache-2.0, so no runtime dependency may be copyleft, and pm4py
(AGPL) serves only the tests and benchmarks."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

SRC = Path(__file__).resolve().parents[1] / "src" / "journeyscope"
COPYLEFT = re.compile(r"\b(A?GPL|LGPL|GNU (Affero |Lesser )?General Public)", re.IGNORECASE)


def _runtime_closure() -> dict[str, metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    todo = [r for r in metadata.requires("journeyscope") or [] if "extra ==" not in r]
    while todo:
        req = Requirement(todo.pop())
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = req.name.lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return seen


def _licence_text(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    parts = [meta.get("License-Expression") or "", (meta.get("License") or "")[:200]]
    parts += [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    return " | ".join(p for p in parts if p)


def test_no_runtime_dependency_is_copyleft() -> None:
    offenders = {}
    for name, dist in _runtime_closure().items():
        text = _licence_text(dist)
        # Dual-licensed packages that offer a permissive option are fine.
        permissive_option = re.search(r"\b(MIT|BSD|Apache|PSF|ISC|MPL)", text)
        if COPYLEFT.search(text) and not permissive_option:
            offenders[name] = text
    assert not offenders, f"copyleft runtime dependencies: {offenders}"
    assert len(_runtime_closure()) > 20  # the walk found the dependency tree


def test_the_package_never_imports_pm4py() -> None:
    users = [str(p) for p in SRC.rglob("*.py")
             if re.search(r"^\s*(import|from)\s+pm4py", p.read_text(), re.MULTILINE)]
    assert users == []
