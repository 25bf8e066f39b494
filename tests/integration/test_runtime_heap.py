"""The runtime's worker takes the process's long-lived objects out of the garbage collector's walks."""

from __future__ import annotations

import gc
import time

from smartcustoms import runtime as runtime_module
from smartcustoms.runtime import Runtime


def test_the_worker_freezes_the_long_lived_heap_once_the_caches_are_warm(rt: Runtime) -> None:
    runtime_module._heap_frozen.clear()
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    rt.start()
    try:
        deadline = time.monotonic() + 30
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        rt.stop()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the libraries, the reference catalog, the HS classifier
    assert runtime_module.freeze_long_lived() == 0  # once per process
    assert gc.get_freeze_count() == frozen
