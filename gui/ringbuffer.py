"""Lock-protected numpy ring buffers: filled from any thread, read by the redraw timer."""

from __future__ import annotations

import threading

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.base.errors import HipscopeError


class RingBuffer:
    """A fixed-capacity time series of ``width`` float channels, oldest rows overwritten.

    ``append`` may be called from the acquisition thread while ``latest``/``window`` are
    called from the GUI thread; a lock guards the arrays and every read returns copies.

    Parameters
    ----------
    capacity
        Rows kept (e.g. ``window_s * rate_hz`` plus headroom).
    width
        Channels per row (3 for a vector, 1 for an angle).
    """

    def __init__(self, capacity: int, width: int) -> None:
        if capacity < 1 or width < 1:
            raise HipscopeError(
                f"ring buffer needs capacity >= 1 and width >= 1, got {capacity}, {width}"
            )
        self.capacity = int(capacity)
        self.width = int(width)
        self._time_s = np.full(self.capacity, np.nan)
        self._values = np.full((self.capacity, self.width), np.nan, dtype=np.float32)
        self._head = 0  # next row to write
        self._count = 0
        self._total = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    @property
    def total_appended(self) -> int:
        """Rows appended since creation or the last ``clear`` (including overwritten ones)."""
        return self._total

    def clear(self) -> None:
        with self._lock:
            self._head = 0
            self._count = 0
            self._total = 0

    def append(self, time_s: ArrayLike, values: ArrayLike) -> None:
        """Append rows; ``values`` has shape (n, width) or (n,) when width is 1."""
        time = np.asarray(time_s, dtype=np.float64).reshape(-1)
        vals = np.asarray(values, dtype=np.float32).reshape(time.shape[0], self.width)
        n = time.shape[0]
        if n == 0:
            return
        if n > self.capacity:
            time, vals = time[-self.capacity :], vals[-self.capacity :]
        with self._lock:
            self._total += n
            n = time.shape[0]
            first = min(n, self.capacity - self._head)
            self._time_s[self._head : self._head + first] = time[:first]
            self._values[self._head : self._head + first] = vals[:first]
            rest = n - first
            if rest:
                self._time_s[:rest] = time[first:]
                self._values[:rest] = vals[first:]
            self._head = (self._head + n) % self.capacity
            self._count = min(self.capacity, self._count + n)

    def latest(self, n: int | None = None) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
        """The newest ``n`` rows (all when None) in time order, as copies."""
        with self._lock:
            count = self._count if n is None else min(int(n), self._count)
            start = (self._head - count) % self.capacity
            if start + count <= self.capacity:
                return (
                    self._time_s[start : start + count].copy(),
                    self._values[start : start + count].copy(),
                )
            idx = (start + np.arange(count)) % self.capacity
            return self._time_s[idx], self._values[idx]

    def last_time_s(self) -> float:
        """Time of the newest row, NaN when empty."""
        with self._lock:
            if self._count == 0:
                return float("nan")
            return float(self._time_s[(self._head - 1) % self.capacity])

    def window(
        self, start_s: float, end_s: float = np.inf
    ) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
        """Rows with ``start_s <= time_s <= end_s`` as copies (times assumed increasing).

        Searches the two stored segments in place: only the selected rows are copied.
        """
        parts_t: list[NDArray[np.float64]] = []
        parts_v: list[NDArray[np.float32]] = []
        with self._lock:
            count = self._count
            start = (self._head - count) % self.capacity
            first_len = min(count, self.capacity - start)
            for lo, hi in ((start, start + first_len), (0, count - first_len)):
                if hi <= lo:
                    continue
                times = self._time_s[lo:hi]
                a = lo + int(np.searchsorted(times, start_s, side="left"))
                b = lo + int(np.searchsorted(times, end_s, side="right"))
                if b > a:
                    parts_t.append(self._time_s[a:b].copy())
                    parts_v.append(self._values[a:b].copy())
        if not parts_t:
            return np.empty(0), np.empty((0, self.width), dtype=np.float32)
        if len(parts_t) == 1:
            return parts_t[0], parts_v[0]
        return np.concatenate(parts_t), np.concatenate(parts_v)
