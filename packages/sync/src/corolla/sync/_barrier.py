"""The compiled core of Barrier (the public class: ``_public``)."""

from __future__ import annotations

from asyncio import BrokenBarrierError
from types import TracebackType

from mypy_extensions import mypyc_attr

from corolla.sync._base import LoopBound, object_repr, reject_keywords
from corolla.sync._lock import ConditionCore

_FILLING = "filling"
_DRAINING = "draining"
_RESETTING = "resetting"
_BROKEN = "broken"


@mypyc_attr(allow_interpreted_subclasses=True)
class BarrierCore(LoopBound):
    """What :class:`corolla.sync.Barrier` does."""

    _cond: ConditionCore
    _parties: int
    _state: str
    _count: int

    def __init__(self, parties: int, **unexpected: object) -> None:
        reject_keywords(self, unexpected)
        super().__init__()
        if parties < 1:
            raise ValueError(f"parties must be > 0, got {parties!r}")
        self._cond = ConditionCore()
        self._parties = parties
        self._state = _FILLING
        self._count = 0

    def __repr__(self) -> str:
        extra = self._state
        if self._state != _BROKEN:
            extra = f"{extra}, waiters:{self.n_waiting}/{self._parties}"
        return object_repr(self, extra)

    async def __aenter__(self) -> int:
        return await self.wait()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass

    def _may_enter(self) -> bool:
        return self._state not in (_DRAINING, _RESETTING)

    def _round_over(self) -> bool:
        return self._state != _FILLING

    async def wait(self) -> int:
        """Wait until ``parties`` tasks are waiting, then release them all.

        Returns this task's arrival index (0 for the first). Raises
        BrokenBarrierError if the barrier is broken or reset while waiting.
        """
        cond = self._cond
        async with cond:
            await cond.wait_for(self._may_enter)
            if self._state == _BROKEN:
                raise BrokenBarrierError("Barrier aborted")
            index = self._count
            self._count += 1
            try:
                if index + 1 == self._parties:
                    self._state = _DRAINING
                    cond.notify_all()
                else:
                    await cond.wait_for(self._round_over)
                    if self._state in (_BROKEN, _RESETTING):
                        raise BrokenBarrierError("Barrier aborted or reset")
                return index
            finally:
                self._count -= 1
                if self._count == 0 and (self._state in (_RESETTING, _DRAINING)):
                    self._state = _FILLING
                cond.notify_all()

    async def reset(self) -> None:
        """Return the barrier to the empty state; current waiters get BrokenBarrierError."""
        cond = self._cond
        async with cond:
            if self._count > 0:
                if self._state != _RESETTING:
                    self._state = _RESETTING
            else:
                self._state = _FILLING
            cond.notify_all()

    async def abort(self) -> None:
        """Break the barrier: waiters and later ``wait()`` calls get BrokenBarrierError."""
        cond = self._cond
        async with cond:
            self._state = _BROKEN
            cond.notify_all()

    @property
    def parties(self) -> int:
        """How many tasks must call ``wait()`` to release a round."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """How many tasks are waiting in the current round."""
        if self._state == _FILLING:
            return self._count
        return 0

    @property
    def broken(self) -> bool:
        """True after ``abort()`` (until ``reset()``)."""
        return self._state == _BROKEN
