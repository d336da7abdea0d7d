"""The public Future class.

It is an ordinary (interpreted) subclass of the compiled core, defined in a
package ``__init__`` so that mypyc leaves it alone: that gives ``Future[T]``
its generic alias, and gives instances weak references (the stdlib's task
registry needs them) with a deallocator that clears them.
"""

from __future__ import annotations

import types
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from corolla.futures._future import FUTURE_CLASS, FutureCore

_T = TypeVar("_T")


class Future(FutureCore, Generic[_T]):
    """A result, or an exception, that becomes available later.

    It behaves like :class:`asyncio.Future`: callbacks added with
    :meth:`add_done_callback` run through the loop's ``call_soon`` in the
    context they were added with, awaiting a pending future suspends the
    awaiting task until it is done, and an exception that nobody ever
    retrieved is reported to the loop's exception handler when the future is
    garbage collected. Stdlib tasks can await it and corolla tasks can await
    stdlib futures: both follow the ``_asyncio_future_blocking`` protocol.

    ``loop`` defaults to the current event loop.
    """

    if not TYPE_CHECKING:
        # Future[int] is a types.GenericAlias, as for asyncio's classes.
        __class_getitem__ = classmethod(types.GenericAlias)

    # An interpreted property (a compiled one crashed on ``del``).
    @property
    def _log_traceback(self) -> bool:
        return self._log_tb

    @_log_traceback.setter
    def _log_traceback(self, value: bool) -> None:
        if value:
            raise ValueError("_log_traceback can only be set to False")
        self._log_tb = False

    if TYPE_CHECKING:
        # Precise types for the type checker only (the core works with Any).
        def result(self) -> _T: ...
        def set_result(self, result: _T) -> None: ...
        def __await__(self) -> Generator[Any, None, _T]: ...
        def __iter__(self) -> Generator[Any, None, _T]: ...


FUTURE_CLASS.set(Future)
