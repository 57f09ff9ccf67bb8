"""Starter maps shipped with the package (`journeyscope templates`, `journeyscope init`).

Each template is a YAML map file in `model/templates/`, with a one-line summary in its
`description`. `init` stamps the new map's name and today's review date, so a fresh map
validates clean.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

from journeyscope.model.files import load_map
from journeyscope.model.types import JourneyMap

_PACKAGE = "journeyscope.model"


def _folder() -> Path:
    return Path(str(resources.files(_PACKAGE).joinpath("templates")))


def template_names() -> list[str]:
    """The names of the shipped templates, b2b first.

    >>> "b2b" in template_names()
    True
    """
    names = sorted(p.stem for p in _folder().glob("*.yaml"))
    return sorted(names, key=lambda n: (n != "b2b", n))


def template_path(name: str) -> Path:
    path = _folder() / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(template_names())
        raise KeyError(f"no template named {name!r}; the templates are: {known}")
    return path


def load_template(name: str) -> JourneyMap:
    return load_map(template_path(name))


def new_map(name: str, template: str = "b2b", today: dt.date | None = None) -> JourneyMap:
    """A new map from a template, named `name`, reviewed today.

    >>> new_map("Mid-market buyers", "five-stage").name
    'Mid-market buyers'
    """
    base = load_template(template)
    review = base.review.model_copy(update={"last_reviewed": today or dt.date.today()})
    return base.model_copy(update={"name": name, "review": review})


def template_summaries() -> list[tuple[str, str, str]]:
    """(name, kind, one-line description) of every template."""
    out = []
    for name in template_names():
        m = load_template(name)
        out.append((name, m.kind.value, (m.description or m.name).strip().splitlines()[0]))
    return out
