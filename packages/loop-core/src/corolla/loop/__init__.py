"""corolla.loop: the corolla event loop, a drop-in replacement for the asyncio event loop.

Use it with ``corolla.loop.run(main())``,
``asyncio.Runner(loop_factory=corolla.loop.new_event_loop)`` or ``corolla.loop.install()``.
"""

from corolla.loop._compiled import COMPILED
from corolla.loop._handles import Handle, TimerHandle
from corolla.loop._loop import EventLoop, EventLoopPolicy, install, new_event_loop
from corolla.loop._runner import Runner, run

__all__ = [
    "COMPILED",
    "EventLoop",
    "EventLoopPolicy",
    "Handle",
    "TimerHandle",
    "Runner",
    "install",
    "new_event_loop",
    "run",
]
