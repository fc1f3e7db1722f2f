"""A clock shared by the benchmark's processes, whose waits can be skipped.

The per-minute quota run would spend most of its time asleep. With a simulated clock the
test server (in the benchmark process) and the retry loops (in the worker processes) read
the same time: real monotonic time plus every wait that was skipped. A retry "sleeping"
30 s adds 30 s to the clock at once, the server's quota window moves on accordingly, and
the report adds the skipped seconds to the real ones, saying which is which.

The state is three doubles in a small file mapped into each process: the monotonic start,
the offset added to it, and the seconds of waiting skipped so far.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from pathlib import Path

_LAYOUT = struct.Struct("ddd")  # start (monotonic), offset, skipped


class SharedClock:
    """Seconds since the run started, plus skipped waits; usable from any process."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDWR)
        self._map = mmap.mmap(self._fd, _LAYOUT.size)

    @classmethod
    def create(cls, path: str | os.PathLike[str]) -> SharedClock:
        Path(path).write_bytes(_LAYOUT.pack(time.monotonic(), 0.0, 0.0))
        return cls(path)

    def _state(self) -> tuple[float, float, float]:
        start, offset, skipped = _LAYOUT.unpack(self._map[: _LAYOUT.size])
        return start, offset, skipped

    def now(self) -> float:
        start, offset, _ = self._state()
        return time.monotonic() - start + offset

    def sleep(self, seconds: float) -> None:
        """Skip a wait: the clock jumps ahead instead of the process sleeping."""
        start, offset, skipped = self._state()
        seconds = max(0.0, float(seconds))
        self._map[: _LAYOUT.size] = _LAYOUT.pack(start, offset + seconds, skipped + seconds)

    def advance_to_minute(self) -> None:
        """Jump to the start of the next clock minute, so a quota window starts fresh (not a wait)."""
        start, offset, skipped = self._state()
        now = time.monotonic() - start + offset
        self._map[: _LAYOUT.size] = _LAYOUT.pack(start, offset + (60.0 - now % 60.0), skipped)

    @property
    def skipped(self) -> float:
        """Seconds of waiting skipped so far, by every process."""
        return self._state()[2]

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
