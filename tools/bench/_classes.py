"""Shared harness for benchmarks whose impl picks the classes, not the loop.

"stdlib" is asyncio's classes and "corolla" is the given corolla module's,
both on asyncio's own loop; "uvloop" is asyncio's classes on the uvloop loop,
to show what the loop alone changes.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _table import IMPLS, Benchmark, print_table

__all__ = ["IMPLS", "Benchmark", "Body", "measure", "print_table"]

Body = Callable[[Any], Awaitable[None]]


def _setup(corolla_module: str, impl: str) -> tuple[Any, asyncio.AbstractEventLoop] | None:
    """(module with the classes, loop) for an impl, or None where it does not apply."""
    if impl == "stdlib":
        return asyncio, asyncio.new_event_loop()
    if impl == "corolla":
        return importlib.import_module(corolla_module), asyncio.new_event_loop()
    if impl == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        return asyncio, uvloop.new_event_loop()
    raise ValueError(f"unknown impl {impl!r}")


def measure(corolla_module: str, impl: str, ops: int, body: Body, runs: int = 3) -> float:
    """Best of ``runs`` ops/s for ``body(module)``, each run on a fresh loop."""
    best = 0.0
    for _ in range(runs):
        setup = _setup(corolla_module, impl)
        if setup is None:
            return math.nan
        module, loop = setup
        try:
            coro = body(module)
            start = time.perf_counter()
            loop.run_until_complete(coro)
            elapsed = time.perf_counter() - start
        finally:
            loop.close()
        best = max(best, ops / elapsed)
    return best
