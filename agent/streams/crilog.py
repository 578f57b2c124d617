"""Container log files in the CRI format, read as `kubectl logs` shows them. Pure: bytes in, bytes out.

Each line of a CRI log file is one write of the container, `TIMESTAMP STREAM TAG CONTENT`:

    2026-11-21T13:05:00.123456789Z stdout F hello
    2026-11-21T13:05:00.200000000Z stderr P a long line, fir
    2026-11-21T13:05:00.200000100Z stderr F st part and the rest

Tag `F` ends a line of the container's output; `P` is a piece of a longer one that the next entries
complete. kubectl shows the content with the pieces joined, each line followed by a newline and, with
--timestamps, preceded by the time its first piece was written, with nine fraction digits (RFC 3339,
nanoseconds, as the kubelet prints it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LogEntry:
    timestamp: str
    stream: str  # "stdout" or "stderr"
    partial: bool
    content: bytes


def parse_line(line: bytes) -> LogEntry | None:
    """One line of the file (without its newline); None when it is not in the CRI format."""
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        return None
    timestamp, stream, tag = parts[0], parts[1], parts[2]
    if stream not in (b"stdout", b"stderr") or not tag or b"T" not in timestamp:
        return None
    # The tag may grow more `:`-separated parts one day; the first says full or partial.
    flag = tag.split(b":", 1)[0]
    if flag not in (b"F", b"P"):
        return None
    return LogEntry(timestamp.decode("ascii", "replace"), stream.decode(), flag == b"P",
                    parts[3] if len(parts) == 4 else b"")


def format_timestamp(timestamp: str) -> str:
    """`2026-11-21T13:05:00.1234Z` -> `2026-11-21T13:05:00.123400000Z`: nine fraction digits, zone kept."""
    date, sep, time = timestamp.partition("T")
    if not sep:
        return timestamp
    zone_at = len(time)
    for marker in ("Z", "+", "-"):
        found = time.find(marker)
        if found != -1:
            zone_at = min(zone_at, found)
    clock, zone = time[:zone_at], time[zone_at:]
    whole, _, fraction = clock.partition(".")
    return f"{date}T{whole}.{(fraction + '0' * 9)[:9]}{zone}"


class LogFormatter:
    """Turns entries into what kubectl prints, remembering whether a line is half-written."""

    def __init__(self, timestamps: bool) -> None:
        self.timestamps = timestamps
        self.at_line_start = True

    def feed(self, entries: Iterable[LogEntry]) -> bytes:
        out = bytearray()
        for entry in entries:
            if self.at_line_start and self.timestamps:
                out += format_timestamp(entry.timestamp).encode() + b" "
            out += entry.content
            if not entry.partial:
                out += b"\n"
            self.at_line_start = not entry.partial
        return bytes(out)


def tail_start(entries: Sequence[LogEntry], lines: int, *, known_start: bool = True) -> int | None:
    """The index of the first entry of the last `lines` lines (partial pieces joined; an unfinished
    last line counts). None when the entries do not go back far enough to tell: `known_start` False
    says entries[0] may continue a line that began earlier, so more of the file is needed."""
    if lines <= 0:
        return len(entries)
    found = 0
    for index in range(len(entries) - 1, -1, -1):
        begins_line = entries[index - 1].partial is False if index > 0 else known_start
        if begins_line:
            found += 1
            if found == lines:
                return index
    return 0 if known_start else None


def split_lines(data: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines (newline dropped) and the unfinished rest, which a later read completes."""
    *complete, rest = data.split(b"\n")
    return complete, rest


def parse_lines(lines: Iterable[bytes]) -> list[LogEntry]:
    """Entries of the lines that are in the CRI format (others are skipped, as the kubelet does)."""
    return [entry for entry in map(parse_line, lines) if entry is not None]
