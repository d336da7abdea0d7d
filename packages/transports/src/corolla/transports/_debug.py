"""Debug-mode bookkeeping: where a transport or server was created, for the
ResourceWarning emitted when it is garbage-collected without being closed."""

from __future__ import annotations

import asyncio
import os
import traceback
import warnings
from typing import Final

_OWN_DIR: Final = os.path.join("corolla", "transports") + os.sep
_STACK_LIMIT: Final = 20


def creation_stack(loop: asyncio.AbstractEventLoop) -> str | None:
    """The caller's stack as text when ``loop`` runs in debug mode, else None.

    corolla.transports' own frames (present when it runs uncompiled) are
    left out, so the last line is the user's call.
    """
    try:
        debug = loop.get_debug()
    except Exception:
        return None
    if not debug:
        return None
    frames = traceback.extract_stack()
    while frames and _OWN_DIR in frames[-1].filename:
        frames.pop()
    return "".join(traceback.format_list(frames[-_STACK_LIMIT:]))


def warn_unclosed(what: str, obj: object, stack: str | None) -> None:
    """Emit the ResourceWarning for an object collected while still open."""
    message = f"unclosed {what} {obj!r}"
    if stack:
        message += "\nit was created at (most recent call last):\n" + stack.rstrip("\n")
    warnings.warn(message, ResourceWarning, stacklevel=3, source=obj)
