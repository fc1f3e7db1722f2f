"""Python's cyclic garbage collector around a run's bulk work.

A run builds large structures of small objects that are not garbage (the rows of a source as
they arrive, the cells of a tracker) and the collector, counting allocations, walks them again
and again while they are built. Reference counting still frees what is let go; only reference
cycles wait, for the collector's next pass after the block.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection during the block (it is left as it was found afterwards)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def old_objects_spared() -> Iterator[None]:
    """The garbage collector skips, during the block, every object made before it (`gc.freeze`).

    By the time a run writes its tracker or renders its digest it holds a few hundred thousand
    long-lived objects (imported modules, the results, the config), and each full collection
    walked them all: about 0.06 s of the tracker's write and as much of the digest's rendering
    at 500 key results, a quarter of the digest. What the block makes is still collected; the
    old objects are handed back to the collector when it ends, so a long-running scheduler
    frees them as before. Blocks nest: only the outermost freezes and unfreezes (`gc.unfreeze`
    hands back everything frozen, an outer block's objects too).
    """
    global _sparing
    _sparing += 1
    if _sparing == 1:
        gc.freeze()
    try:
        yield
    finally:
        _sparing -= 1
        if _sparing == 0:
            gc.unfreeze()


_sparing = 0
"""How many `old_objects_spared` blocks are open (the collector's frozen objects are one, process-wide)."""
