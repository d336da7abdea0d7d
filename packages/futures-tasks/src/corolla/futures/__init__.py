"""corolla.futures: the Future class and the future protocol helpers, for any asyncio event loop.

:class:`Future` is a drop-in for :class:`asyncio.Future` (stdlib tasks can
await it, corolla tasks can await stdlib futures). The exceptions are the
stdlib's own classes, re-exported, so ``except asyncio.CancelledError``
catches corolla's cancellations.
"""

from asyncio import AbstractEventLoop, CancelledError, InvalidStateError
from typing import TYPE_CHECKING, Any

from corolla.futures._api import Future
from corolla.futures._compiled import COMPILED
from corolla.futures._future import (
    future_add_to_awaited_by,
    future_discard_from_awaited_by,
    isfuture,
)

if TYPE_CHECKING:

    def new_future(loop: AbstractEventLoop) -> Future[Any]: ...

else:
    from corolla.futures._future import new_future
from corolla.futures._wrap import wrap_future

__all__ = [
    "COMPILED",
    "CancelledError",
    "Future",
    "future_add_to_awaited_by",
    "future_discard_from_awaited_by",
    "InvalidStateError",
    "isfuture",
    "new_future",
    "wrap_future",
]
