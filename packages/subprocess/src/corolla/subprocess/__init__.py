"""corolla.subprocess: subprocess transports, child watching and the Process API.

:func:`subprocess_exec` and :func:`subprocess_shell` take the event loop as
their first argument and otherwise mirror the methods of
:class:`asyncio.AbstractEventLoop` of the same name; they use only the loop's
public interface, so they work on any asyncio event loop. Children are watched
with a Linux pidfd on the loop where possible, else with one thread per child;
only our own children are ever waited for.
"""

from corolla.subprocess._compiled import COMPILED
from corolla.subprocess._transport import (
    DEVNULL,
    PIPE,
    STDOUT,
    SubprocessTransport,
    subprocess_exec,
    subprocess_shell,
)

__all__ = [
    "COMPILED",
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "SubprocessTransport",
    "subprocess_exec",
    "subprocess_shell",
]
