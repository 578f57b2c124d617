"""IntOrString values such as a Deployment's maxSurge: a count (`1`) or a percentage (`"25%"`).

`scaled_value` is Kubernetes' GetScaledValueFromIntOrPercent: a percentage is taken of a total
and rounded up or down (a rolling update rounds maxSurge up and maxUnavailable down, so that
25% of 10 replicas lets 3 extra pods start while only 2 may be missing).
"""

from __future__ import annotations

import re

_PERCENT = re.compile("[0-9]+%")
_GO_ATOI = re.compile("[+-]?[0-9]+")


def is_percent(value: int | str) -> bool:
    """True for a string of digits followed by '%' (Kubernetes' IsValidPercent), such as "25%"."""
    return isinstance(value, str) and _PERCENT.fullmatch(value) is not None


def _percent(text: str) -> int:
    """The number in "25%", read as Go's strconv.Atoi reads it; ValueError with Kubernetes' text."""
    if not text.endswith("%"):
        raise ValueError("invalid value for IntOrString: invalid type: string is not a percentage")
    digits = text[:-1]
    if _GO_ATOI.fullmatch(digits) is None:
        raise ValueError(
            f'invalid value for IntOrString: invalid value "{text}": '
            f'strconv.Atoi: parsing "{digits}": invalid syntax')
    return int(digits)


def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    """An int as it is; a percentage of `total`, rounded up or down (never through a float)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("invalid value for IntOrString: invalid type: neither int nor percentage")
    if isinstance(value, int):
        return value
    product = _percent(value) * total
    return -(-product // 100) if round_up else product // 100
