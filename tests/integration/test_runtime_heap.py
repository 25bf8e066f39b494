"""The runtime's worker takes the process's long-lived objects out of the garbage collector's walks."""

from __future__ import annotations

import gc
import time

from smartcustoms import runtime as runtime_module
from smartcustoms.auth import service as auth_service
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


def test_warming_up_makes_the_hash_a_failed_login_for_an_unknown_name_is_checked_against(rt: Runtime) -> None:
    # Made on first use, not at import (every command paid 0.12 s for it); the warm-up makes it so
    # that a server's first failed login for an unknown name is not slower than for a known one.
    auth_service.dummy_hash.cache_clear()
    rt.warm()
    assert auth_service.dummy_hash.cache_info().currsize == 1
    assert auth_service.dummy_hash().startswith("$argon2")
