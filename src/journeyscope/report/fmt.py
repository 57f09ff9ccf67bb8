"""Numbers in words for the analysis report: shares, days, money, counts and signed scores.

One place for the formats, so that a figure on a card, in a chart's hover and in a sentence of
the executive summary reads the same (``71%``, ``27.1 M``, ``3.2 days``).
"""

from __future__ import annotations

import math
import re
from typing import Any

NA = "n/a"


def is_number(value: Any) -> bool:
    """A real, finite number (not None, not NaN, not a bool)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def pct(value: Any, digits: int = 0) -> str:
    """A share as a percentage: ``pct(0.712) == '71%'``; ``pct(0.0049) == '0.5%'``.

    >>> pct(0.712), pct(0.0049), pct(None)
    ('71%', '0.5%', 'n/a')
    """
    if not is_number(value):
        return NA
    shown = value * 100
    if digits == 0 and 0 < abs(shown) < 1:
        return f"{shown:.1f}%"
    return f"{shown:.{digits}f}%"


def count(value: Any) -> str:
    """A whole count with thousands separators.

    >>> count(3559), count(12.0), count(None)
    ('3,559', '12', 'n/a')
    """
    return f"{round(value):,}" if is_number(value) else NA


# A whole number of four digits or more standing alone in a sentence: not part of a word, an
# id, a decimal fraction, a date or a time, and without separators yet.
_BARE_NUMBER = re.compile(r"(?<![\w.,/:-])\d{4,}(?![\w,/:-])")


def figures(text: Any) -> str:
    """A sentence of the analysis with its whole numbers given thousands separators, as `count`
    writes them (the pain points' evidence comes as plain sentences).

    >>> figures("1482 of 12034 accounts (12%) over the time standard (median 1.5 days)")
    '1,482 of 12,034 accounts (12%) over the time standard (median 1.5 days)'
    >>> figures("mean score 1234.5 since 2025-01-01, touchpoint tp1000")
    'mean score 1,234.5 since 2025-01-01, touchpoint tp1000'
    """
    return _BARE_NUMBER.sub(lambda m: f"{int(m.group()):,}", "" if text is None else str(text))


def plural(value: Any, word: str, words: str | None = None) -> str:
    """A count with its noun: ``plural(1, "account") == '1 account'``.

    >>> plural(1, "account"), plural(1482, "account"), plural(2, "city", "cities")
    ('1 account', '1,482 accounts', '2 cities')
    """
    shown = count(value)
    return f"{shown} {word if shown == '1' else (words or word + 's')}"


def days(value: Any) -> str:
    """A duration in days, to one decimal below 10 days, whole days above.

    >>> days(1.1566), days(27.9), days(1.0)
    ('1.2 days', '28 days', '1 day')
    """
    if not is_number(value):
        return NA
    shown = f"{value:.1f}" if abs(value) < 10 else f"{value:.0f}"
    shown = shown[:-2] if shown.endswith(".0") else shown
    return f"{shown} day" + ("" if shown == "1" else "s")


def money(value: Any) -> str:
    """An amount in compact form (no currency: the map does not name one).

    >>> money(27128800.0), money(540_000), money(9500), money(0)
    ('27.1 M', '540 k', '9,500', '0')
    """
    if not is_number(value):
        return NA
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:.1f} bn"
    if size >= 1e6:
        return f"{value / 1e6:.1f} M"
    if size >= 1e5:
        return f"{value / 1e3:.0f} k"
    return f"{value:,.0f}"


def number(value: Any, digits: int = 2) -> str:
    """A measured value such as a mean score, without trailing zeros.

    >>> number(4.115384), number(3.0), number(None)
    ('4.12', '3', 'n/a')
    """
    if not is_number(value):
        return NA
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def signed(value: Any, digits: int = 2) -> str:
    """A score on the -2..+2 emotion scale, or a sentiment, with its sign.

    >>> signed(0.35273), signed(-1.048), signed(0.0)
    ('+0.35', '-1.05', '0')
    """
    if not is_number(value):
        return NA
    if round(value, digits) == 0:
        return "0"
    return f"{value:+.{digits}f}"


def ratio(value: Any) -> str:
    """A multiplier such as a win-rate lift: ``×1.98``.

    >>> ratio(1.9809), ratio(None)
    ('×1.98', 'n/a')
    """
    return f"×{value:.2f}" if is_number(value) else NA


def kpi_value(value: Any, unit: str | None) -> str:
    """A KPI's measured value in the KPI's unit.

    >>> kpi_value(0.298, "ratio"), kpi_value(3.08, "days"), kpi_value(500000, "currency")
    ('30%', '3.1 days', '500 k')
    """
    if not is_number(value):
        return NA
    unit = (unit or "").lower()
    if unit == "ratio":
        return pct(value)
    if unit in ("percent", "%"):
        return f"{number(value, 1)}%"
    if unit == "days":
        return days(value)
    if unit in ("hours", "minutes"):
        return f"{number(value, 1)} {unit}"
    if unit == "currency":
        return money(value)
    if unit == "count":
        return count(value) if float(value).is_integer() else number(value)
    return number(value)


def kpi_target(target: Any, direction: str | None, unit: str | None) -> str:
    """A KPI target with its direction: ``≥ 35%``, ``≤ 3 days``.

    >>> kpi_target(0.35, "higher", "ratio"), kpi_target(3.0, "lower", "days")
    ('≥ 35%', '≤ 3 days')
    """
    if not is_number(target):
        return ""
    sign = "≤" if direction == "lower" else "≥"
    return f"{sign} {kpi_value(target, unit)}"
