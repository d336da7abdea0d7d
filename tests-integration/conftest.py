"""Fixtures for the cross-package tests: everything runs on the corolla loop."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import corolla.loop


def _open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


@pytest.fixture
def runner() -> Iterator[corolla.loop.Runner]:
    """A corolla Runner; at the end, no file descriptor may have leaked."""
    before = _open_fds()
    with corolla.loop.Runner() as r:
        yield r
    leaked = _open_fds() - before
    # /proc listing itself may briefly hold a descriptor: check what is still open.
    still = {fd for fd in leaked if os.path.exists(f"/proc/self/fd/{fd}")}
    assert not still, f"leaked file descriptors: {sorted(still)}"
