"""Resource quantities ("500m", "64Mi", "129e6") as Kubernetes reads and prints them.

A quantity is an exact decimal: `parse_quantity` never goes through a float. As in Kubernetes,
a value finer than a nano-unit is rounded up to the next nano-unit (away from zero: asking for a
little gets a little, not nothing), and a binary-suffixed value is capped at 2^63-1.
`milli_value` and `value` round up the same way (Kubernetes' MilliValue and Value).
`format_quantity` prints the canonical form: the largest suffix that keeps the number whole.
"""

from __future__ import annotations

import re
from decimal import Decimal

SPLIT_RE_STRING = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG = f"quantities must match the regular expression '{SPLIT_RE_STRING}'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

MAX_ALLOWED = 2**63 - 1
"""The cap on a binary-suffixed quantity (Kubernetes' maxAllowed)."""

_NANO = -9
_MAX_EXPONENT = 1000
"""Beyond 10^1000 a quantity means nothing; refused rather than expanded digit by digit."""

# The same language as Kubernetes' scanner (parseQuantityString): sign, digits, fraction, suffix.
_SCAN = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")
_GO_PARSE_INT = re.compile("[+-]?[0-9]+")

_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_NAMES = {exponent: name for name, exponent in _DECIMAL_SUFFIXES.items()}
_BINARY_NAMES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


class QuantityError(ValueError):
    """A string that is not a quantity; `str()` is Kubernetes' message."""


def _suffix(suffix: str) -> tuple[int, int]:
    """(base, exponent) of a suffix: "Mi" -> (2, 20), "k" -> (10, 3), "e6" -> (10, 6)."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix]
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix]
    if len(suffix) > 1 and suffix[0] in "eE" and _GO_PARSE_INT.fullmatch(suffix[1:]):
        exponent = int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            raise QuantityError(ERR_NUMERIC)
        return 10, exponent
    raise QuantityError(ERR_SUFFIX)


def _as_text(value: str | int | float) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise QuantityError(ERR_FORMAT_WRONG)
    if isinstance(value, str):
        return value
    return repr(value)  # int: its digits; float: the shortest text that reads back as the same float


def _split(d: Decimal) -> tuple[int, int, int]:
    """(sign, coefficient, exponent) with d == sign * coefficient * 10**exponent."""
    if not d.is_finite():
        raise QuantityError(ERR_NUMERIC)
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits))) if digits else 0
    return (-1 if sign else 1), coefficient, exponent


def _join(sign: int, coefficient: int, exponent: int) -> Decimal:
    return Decimal((1 if sign < 0 and coefficient else 0, tuple(int(c) for c in str(coefficient)), exponent))


def _round_away(coefficient: int, exponent: int, scale: int) -> int:
    """coefficient * 10**exponent in units of 10**scale, rounded away from zero (coefficient >= 0)."""
    shift = exponent - scale
    factor: int = 10 ** abs(shift)
    if shift >= 0:
        return coefficient * factor
    whole, rest = divmod(coefficient, factor)
    return whole + 1 if rest else whole


def _tidy(sign: int, nanos: int) -> Decimal:
    """sign * nanos * 1e-9 exactly, without trailing zeros after the point: 500000000 -> 0.5."""
    exponent = _NANO
    while exponent < 0 and nanos and nanos % 10 == 0:
        nanos, exponent = nanos // 10, exponent + 1
    return _join(sign, nanos, exponent if nanos else 0)


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact amount a quantity stands for: "400m" -> 0.4, "64Mi" -> 67108864, "129e6" -> 129000000."""
    text = _as_text(value)
    scanned = _SCAN.fullmatch(text)
    if not text or scanned is None:
        raise QuantityError(ERR_FORMAT_WRONG)
    sign_text, whole, fraction, suffix = scanned.group(1, 2, 3, 4)
    fraction = fraction or ""
    if not whole and not fraction:
        raise QuantityError(ERR_FORMAT_WRONG)
    base, exponent = _suffix(suffix)
    sign = -1 if sign_text == "-" else 1
    coefficient = int(whole + fraction)
    if base == 10:
        exponent -= len(fraction)
    else:
        coefficient <<= exponent
        exponent = -len(fraction)
    nanos = _round_away(coefficient, exponent, _NANO)
    if base == 2:
        nanos = min(nanos, MAX_ALLOWED * 10**9)
    return _tidy(sign, nanos)


def _scaled(q: Decimal, scale: int) -> int:
    sign, coefficient, exponent = _split(q)
    return sign * _round_away(coefficient, exponent, scale)


def milli_value(q: Decimal) -> int:
    """The quantity in thousandths, rounded up (away from zero): 0.4 -> 400, 0.0001 -> 1."""
    return _scaled(q, -3)


def value(q: Decimal) -> int:
    """The quantity in whole units, rounded up (away from zero): 0.5 -> 1, 67108864 -> 67108864."""
    return _scaled(q, 0)


def format_quantity(d: Decimal, binary: bool = False) -> str:
    """The canonical text: 0.5 -> "500m", 1500 -> "1500", 129000000 -> "129M"; binary 1073741824 -> "1Gi".

    As Kubernetes does, a binary quantity below 1Ki or with a fraction is printed with decimal
    suffixes, since a binary suffix could not show it exactly.
    """
    sign, coefficient, exponent = _split(d)
    nanos = _round_away(coefficient, exponent, _NANO)
    if nanos == 0:
        return "0"
    minus = "-" if sign < 0 else ""
    if binary and nanos >= 1024 * 10**9 and nanos % 10**9 == 0:
        amount, power = nanos // 10**9, 0
        while amount % 1024 == 0 and power < len(_BINARY_NAMES) - 1:
            amount, power = amount // 1024, power + 1
        return f"{minus}{amount}{_BINARY_NAMES[power]}"
    amount, power = nanos, _NANO
    while amount % 10 == 0:
        amount, power = amount // 10, power + 1
    amount, power = amount * 10 ** (power % 3), power - power % 3
    if power in _DECIMAL_NAMES:
        return f"{minus}{amount}{_DECIMAL_NAMES[power]}"
    return f"{minus}{amount}e{power}"
