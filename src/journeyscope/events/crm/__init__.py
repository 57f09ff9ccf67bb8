"""CRM export adapters: HubSpot and Salesforce exports, recognised by their files' header rows
and read into canonical events, accounts and contacts (see docs/crm.md).

>>> from pathlib import Path
>>> detect([Path("no-such-file.csv")]) is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from journeyscope.events.crm.common import CrmAdapter, CrmExportError, expand, read_header
from journeyscope.events.crm.hubspot import HubSpotAdapter
from journeyscope.events.crm.salesforce import SalesforceAdapter

ADAPTERS: tuple[CrmAdapter, ...] = (HubSpotAdapter(), SalesforceAdapter())


def classify(path: Path) -> tuple[CrmAdapter, str] | None:
    """The CRM and object a file is an export of (e.g. HubSpot `deals`), or None."""
    header = read_header(Path(path))
    if header is None:
        return None
    for adapter in ADAPTERS:
        kind = adapter.classify(header)
        if kind is not None:
            return adapter, kind
    return None


def split_sources(paths: Sequence[Path | str]) -> tuple[list[tuple[CrmAdapter, list[Path]]],
                                                       list[Path]]:
    """Sort sources into CRM exports (grouped by CRM) and everything else. A folder stands for
    the CSV files directly in it; its other files are left to the importer's folder rules."""
    groups: dict[str, tuple[CrmAdapter, list[Path]]] = {}
    other: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [(f, classify(f)) for f in expand([path])]
            recognised = [(f, c) for f, c in found if c is not None]
            if not recognised:
                other.append(path)
                continue
            for f, c in found:
                if c is None:
                    other.append(f)
                else:
                    groups.setdefault(c[0].name, (c[0], []))[1].append(f)
            continue
        found_one = classify(path)
        if found_one is None:
            other.append(path)
        else:
            groups.setdefault(found_one[0].name, (found_one[0], []))[1].append(path)
    return list(groups.values()), other


def detect(paths: Sequence[Path | str]) -> CrmAdapter | None:
    """The adapter when every file of `paths` (folders: the CSV files in them) is an export of
    one CRM, else None. Mixed sources: use `split_sources`."""
    files = expand(paths)
    if not files:
        return None
    found = [classify(f) for f in files]
    if any(c is None for c in found):
        return None
    names = {c[0].name for c in found if c is not None}
    if len(names) != 1:
        return None
    return found[0][0] if found[0] is not None else None


__all__ = ["ADAPTERS", "CrmAdapter", "CrmExportError", "classify", "detect", "split_sources"]
