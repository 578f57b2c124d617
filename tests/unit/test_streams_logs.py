"""Container logs as kubectl shows them: the CRI format, partial lines, timestamps, tail, follow."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.streams import logs
from agent.streams.crilog import LogEntry, LogFormatter, format_timestamp, parse_line, tail_start
from agent.streams.logs import find_tail_offset, read_log

T1 = "2026-11-21T13:05:00.123456789Z"
T2 = "2026-11-21T13:05:01.5Z"


def entry(content: str, *, partial: bool = False, stream: str = "stdout", ts: str = T1) -> LogEntry:
    return LogEntry(ts, stream, partial, content.encode())


def cri(content: str, *, partial: bool = False, stream: str = "stdout", ts: str = T1) -> bytes:
    return f"{ts} {stream} {'P' if partial else 'F'} {content}\n".encode()


@pytest.mark.parametrize(("line", "expected"), [
    (b"2026-11-21T13:05:00.123456789Z stdout F hello world", entry("hello world")),
    (b"2026-11-21T13:05:00.123456789Z stderr P part", entry("part", partial=True, stream="stderr")),
    (b"2026-11-21T13:05:00.123456789Z stdout F ", entry("")),
    (b"2026-11-21T13:05:00.123456789Z stdout F", entry("")),
    (b"2026-11-21T13:05:00.123456789Z stdout F  two  spaces ", entry(" two  spaces ")),
    (b"2026-11-21T13:05:00.123456789Z stdout F:x future tag", entry("future tag")),
])
def test_cri_lines_parse_into_stream_tag_and_content(line: bytes, expected: LogEntry) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize("line", [b"", b"hello", b"2026-11-21T13:05:00Z stdin F x", b"2026-11-21T13:05:00Z stdout X x",
                                  b"notatime stdout F x"])
def test_lines_not_in_the_cri_format_are_skipped(line: bytes) -> None:
    assert parse_line(line) is None


@pytest.mark.parametrize(("raw", "shown"), [
    ("2026-11-21T13:05:00.123456789Z", "2026-11-21T13:05:00.123456789Z"),
    ("2026-11-21T13:05:01.5Z", "2026-11-21T13:05:01.500000000Z"),
    ("2026-11-21T13:05:02Z", "2026-11-21T13:05:02.000000000Z"),
    ("2026-11-21T14:05:00.25+01:00", "2026-11-21T14:05:00.250000000+01:00"),
])
def test_timestamps_show_nine_fraction_digits_as_the_kubelet_prints_them(raw: str, shown: str) -> None:
    assert format_timestamp(raw) == shown


def test_partial_pieces_join_into_one_line_with_the_first_pieces_timestamp() -> None:
    entries = [entry("a long ", partial=True, ts=T1), entry("line", ts=T2), entry("next", ts=T2)]
    assert LogFormatter(timestamps=False).feed(entries) == b"a long line\nnext\n"
    assert LogFormatter(timestamps=True).feed(entries) == (
        b"2026-11-21T13:05:00.123456789Z a long line\n2026-11-21T13:05:01.500000000Z next\n")


def test_a_line_split_across_reads_keeps_one_timestamp() -> None:
    formatter = LogFormatter(timestamps=True)
    assert formatter.feed([entry("half ", partial=True)]) == b"2026-11-21T13:05:00.123456789Z half "
    assert formatter.feed([entry("done", ts=T2)]) == b"done\n"


@pytest.mark.parametrize(("pattern", "lines", "start"), [
    ("FFFF", 2, 2),
    ("FFFF", 0, 4),
    ("FFFF", 10, 0),
    ("FPPFF", 1, 4),
    ("FPPFF", 2, 1),  # the line before the last is pieces 1 and 2 ended by 3
    ("FPPFF", 3, 0),
    ("FFPP", 1, 2),  # an unfinished last line counts as one
    ("", 3, 0),
])
def test_tail_counts_whole_lines_from_the_end(pattern: str, lines: int, start: int) -> None:
    entries = [entry(str(i), partial=tag == "P") for i, tag in enumerate(pattern)]
    assert tail_start(entries, lines) == start


def test_tail_asks_for_more_when_the_read_part_may_begin_mid_line() -> None:
    entries = [entry("rest", partial=True), entry("end"), entry("x")]
    assert tail_start(entries, 2, known_start=False) is None  # is entry 0 the start of its line? unknown
    assert tail_start(entries, 1, known_start=False) == 2


def write_log(path: Path, count: int) -> list[bytes]:
    lines = [cri(f"line {i}") for i in range(count)]
    path.write_bytes(b"".join(lines))
    return lines


def test_tail_offset_reads_backwards_through_a_long_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "_BLOCK", 100)  # many small blocks
    path = tmp_path / "0.log"
    lines = write_log(path, 500)
    for wanted in (1, 7, 499, 500, 900):
        offset = find_tail_offset(path, wanted)
        kept = path.read_bytes()[offset:]
        assert kept == b"".join(lines[-wanted:]), wanted
    assert find_tail_offset(path, 0) == path.stat().st_size
    assert find_tail_offset(tmp_path / "absent.log", 5) == 0


def test_tail_offset_leaves_an_unfinished_last_line_to_the_follower(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(cri("one") + cri("two") + b"2026-11-21T13:05:00Z stdout F thr")
    assert path.read_bytes()[find_tail_offset(path, 1):].startswith(cri("two"))


async def collect(path: Path, **options: object) -> bytes:
    async def exited() -> bool:
        return True
    chunks = [c async for c in read_log(path, exited=exited, interval=0.01, **options)]  # type: ignore[arg-type]
    return b"".join(chunks)


async def test_read_log_shows_every_line_or_the_tail(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(cri("one") + cri("two", stream="stderr") + cri("thr", partial=True) + cri("ee") + b"garbage\n")
    assert await collect(path, tail=None, timestamps=False, follow=False) == b"one\ntwo\nthree\n"
    assert await collect(path, tail=1, timestamps=False, follow=False) == b"three\n"
    assert await collect(path, tail=2, timestamps=True, follow=False) == (
        b"2026-11-21T13:05:00.123456789Z two\n2026-11-21T13:05:00.123456789Z three\n")


async def test_follow_waits_for_more_and_ends_when_the_container_has_exited(tmp_path: Path) -> None:
    path = tmp_path / "0.log"  # not there yet: the container has not written anything
    running = True

    async def exited() -> bool:
        return not running

    received: list[bytes] = []

    async def follow() -> None:
        async for chunk in read_log(path, tail=None, timestamps=False, follow=True, exited=exited, interval=0.01):
            received.append(chunk)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    with path.open("ab") as log:
        log.write(cri("first"))
        log.write(cri("sec", partial=True)[:-5])  # a writer caught in the middle of a line
        log.flush()
        await asyncio.sleep(0.05)
        assert b"".join(received) == b"first\n"
        log.write(cri("sec", partial=True)[-5:] + cri("ond"))
        log.flush()
        await asyncio.sleep(0.05)
        running = False
        log.write(cri("last words"))  # written as it exits: still shown
    await asyncio.wait_for(task, 2)
    assert b"".join(received) == b"first\nsecond\nlast words\n"
