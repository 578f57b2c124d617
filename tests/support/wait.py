"""The one place tests wait for something: poll a check until it holds or a deadline passes,
and on timeout say what was last seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    pass


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float, what: str,
                     interval: float = 0.05) -> T:
    """Await `check()` until it returns something truthy (returned) or raises no AssertionError."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = await check()
            if result:
                return result
            last = result
        except AssertionError as error:
            last = error
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}; last saw: {last!r}")
        await asyncio.sleep(interval)


def eventually_sync(check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.02) -> T:
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        result = check()
        if result:
            return result
        last = result
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}; last saw: {last!r}")
        time.sleep(interval)
