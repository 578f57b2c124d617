"""The watchers of a store: each one catches up from history, then follows the live events.

A watcher is registered before it reads any history, so the live events from then on queue up in
its bounded queue while it catches up on (after_revision, revision at registration] page by page.
Then it delivers the queued live events, skipping any revision it already delivered: no event is
missed or duplicated and revisions strictly increase. A watcher whose queue overflows is
unregistered; it delivers what it had queued and then raises WatcherTooSlow.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable

from controlplane.store.interface import Compacted, Event, StoreError, WatcherTooSlow

HISTORY_PAGE = 1000  # events read from history per step of a catch-up

# (prefix, after, upto, limit) -> a future of up to `limit` events under prefix, after < revision <= upto.
HistoryReader = Callable[[str, int, int, int], "asyncio.Future[list[Event]]"]


class WatchHub:
    """Hands every committed event to the registered watchers whose prefix it falls under."""

    def __init__(self, revision: int, read_history: HistoryReader, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"watch queue size must be at least 1, not {queue_size}")
        self.revision = revision  # newest revision published
        self.closed = False
        self._read_history = read_history
        self._queue_size = queue_size
        self._watchers: set[StoreWatch] = set()

    def __len__(self) -> int:
        return len(self._watchers)

    def register(self, prefix: str, after_revision: int) -> StoreWatch:
        watch = StoreWatch(self, prefix, after_revision, self.revision, self._queue_size, self._read_history)
        self._watchers.add(watch)
        return watch

    @staticmethod
    def refused(prefix: str, error: Compacted) -> StoreWatch:
        """A watch that raises `error` at its first iteration."""
        return StoreWatch(None, prefix, error.requested, error.requested, 1, None, error)

    def publish(self, events: Iterable[Event]) -> None:
        """Committed events, in revision order. Call right after the in-memory state took them."""
        watchers = list(self._watchers)
        for event in events:
            self.revision = event.revision
            key = event.kv.key
            for watch in watchers:
                if key.startswith(watch.prefix) and not watch.offer(event):
                    self._watchers.discard(watch)

    def unregister(self, watch: StoreWatch) -> None:
        self._watchers.discard(watch)

    def close(self) -> None:
        """End every watcher (each still delivers what it has queued)."""
        self.closed = True
        for watch in self._watchers:
            watch.end()
        self._watchers.clear()


class StoreWatch:
    """One watcher; use as `async for event in watch` and `await watch.aclose()` when done."""

    def __init__(self, hub: WatchHub | None, prefix: str, after_revision: int, upto: int, queue_size: int,
                 read_history: HistoryReader | None, error: Compacted | None = None) -> None:
        self.prefix = prefix
        self._hub = hub
        self._last = after_revision  # revision of the last delivered event (or the start)
        self._upto = upto  # history covers (after_revision, upto]; live events follow
        self._read_history = read_history
        self._start_error = error
        self._caught_up = after_revision >= upto
        self._history: deque[Event] = deque()
        self._history_done = False
        self._pending: asyncio.Future[list[Event]] | None = None
        self._live: deque[Event] = deque()
        self._queue_size = queue_size
        self._wakeup = asyncio.Event()
        self._overflowed = False
        self._ended = False  # the store closed: deliver what is queued, then stop
        self._closed = False  # aclose(): stop now

    # -------------------------------------------------------------------------- hub side

    def offer(self, event: Event) -> bool:
        """Queue a live event; False (and the watcher is done for) when its queue is full."""
        if self._overflowed:
            return False
        if len(self._live) >= self._queue_size:
            self._overflowed = True
            self._wakeup.set()
            return False
        self._live.append(event)
        self._wakeup.set()
        return True

    def end(self) -> None:
        self._ended = True
        self._wakeup.set()

    # -------------------------------------------------------------------------- consumer side

    def __aiter__(self) -> StoreWatch:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        if self._start_error is not None:
            raise self._start_error
        while not self._caught_up:
            if self._history:
                return self._deliver(self._history.popleft())
            await self._read_history_page()
        while True:
            while self._live:
                event = self._live.popleft()
                if event.revision > self._last:
                    return self._deliver(event)
            if self._overflowed:
                raise WatcherTooSlow(
                    f"watch of {self.prefix!r} fell more than {self._queue_size} events behind after "
                    f"revision {self._last}: list again and watch from the list's revision")
            if self._ended or self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def next_within(self, timeout: float) -> Event | type[StopAsyncIteration] | None:
        """The next event; None if none came within `timeout` seconds; StopAsyncIteration if ended.

        Safe to call again after a timeout: nothing is lost, a history read in progress goes on.
        """
        try:
            async with asyncio.timeout(timeout):
                return await self.__anext__()
        except TimeoutError:
            return None
        except StopAsyncIteration:
            return StopAsyncIteration

    def idle_revision(self) -> int:
        """A revision this watcher has seen every event of its prefix up to."""
        if (self._caught_up and not self._live and not self._overflowed and not self._ended
                and not self._closed and self._hub is not None):
            return max(self._last, self._hub.revision)
        return self._last

    async def aclose(self) -> None:
        self._closed = True
        if self._hub is not None:
            self._hub.unregister(self)
        if self._pending is not None:
            if self._pending.done() and not self._pending.cancelled():
                self._pending.exception()  # seen: a read that failed after its caller gave up
            self._pending.cancel()
            self._pending = None
        self._live.clear()
        self._history.clear()
        self._wakeup.set()

    # -------------------------------------------------------------------------- internals

    def _deliver(self, event: Event) -> Event:
        self._last = event.revision
        return event

    async def _read_history_page(self) -> None:
        """Fill the history buffer with the next page, or mark the catch-up done."""
        if self._history_done or self._last >= self._upto:
            self._caught_up = True
            return
        if self._pending is None:
            if self._ended or self._hub is None or self._hub.closed or self._read_history is None:
                # The store closed before the catch-up finished: delivering the live events now would
                # leave a gap, so the watch ends here.
                raise StopAsyncIteration
            self._pending = self._read_history(self.prefix, self._last, self._upto, HISTORY_PAGE)
        # A timeout or cancellation of the caller leaves the read going on; the next call picks it up.
        page = await asyncio.shield(self._pending)
        self._pending = None
        if len(page) < HISTORY_PAGE:
            self._history_done = True
        if page and page[0].revision <= self._last:
            raise StoreError(f"store history out of order: a page starts at revision {page[0].revision}, "
                             f"not after {self._last}")
        self._history.extend(page)
        if not self._history:
            self._caught_up = True
