"""Go's renderings of values, so messages read exactly as the kubelet's do.

Kubernetes builds many user-facing strings with Go's `fmt`: a `time.Duration` prints as `10s`, `2m40s`
or `5m0s` (`back-off 5m0s restarting failed container=...`), and `%q` quotes a string with Go's escapes
(`command "cat /tmp/healthy" timed out`).
"""

from __future__ import annotations

_SECOND_NS = 1_000_000_000


def go_duration(seconds: float) -> str:
    """A duration in seconds as Go's `time.Duration.String()` writes it.

    >>> [go_duration(s) for s in (0, 0.25, 1, 10, 90, 160, 300, 3600, 1.5)]
    ['0s', '250ms', '1s', '10s', '1m30s', '2m40s', '5m0s', '1h0m0s', '1.5s']
    """
    nanos = round(seconds * _SECOND_NS)
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos == 0:
        return "0s"
    if nanos < _SECOND_NS:
        if nanos < 1_000:
            return f"{sign}{nanos}ns"
        if nanos < 1_000_000:
            return f"{sign}{_fraction(nanos, 1_000)}µs"
        return f"{sign}{_fraction(nanos, 1_000_000)}ms"
    whole_seconds, _ = divmod(nanos, _SECOND_NS)
    seconds_part = f"{_fraction(nanos % (60 * _SECOND_NS), _SECOND_NS)}s"
    minutes = whole_seconds // 60
    if minutes == 0:
        return f"{sign}{seconds_part}"
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{f'{hours}h' if hours else ''}{minutes}m{seconds_part}"


def _fraction(value: int, unit: int) -> str:
    """`value / unit` in decimal without trailing zeros (Go's fmtFrac + fmtInt)."""
    whole, rest = divmod(value, unit)
    if rest == 0:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{rest:0{digits}d}".rstrip("0")


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t", "\v": "\\v"}


def go_quote(text: str) -> str:
    """`text` as Go's `%q` (strconv.Quote) prints it: double quotes, backslash escapes."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        elif not char.isprintable():
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def pod_ref(name: str, namespace: str, uid: str) -> str:
    """A pod as the kubelet names it in messages (format.Pod): `web-1_default(6b1f...)`."""
    return f"{name}_{namespace}({uid})"
