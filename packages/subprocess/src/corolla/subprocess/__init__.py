"""corolla.subprocess: subprocess transports, child watching and the Process API.

:func:`subprocess_exec` and :func:`subprocess_shell` take the event loop as
their first argument and otherwise mirror the methods of
:class:`asyncio.AbstractEventLoop` of the same name; they use only the loop's
public interface, so they work on any asyncio event loop. Children are watched
with a Linux pidfd on the loop where possible, else with one thread per child;
only our own children are ever waited for.

:func:`create_subprocess_exec` and :func:`create_subprocess_shell` start a
:class:`Process` (streams from :mod:`corolla.streams`) through the running
loop's ``subprocess_exec``/``subprocess_shell`` methods: on corolla's loop
those are this package's functions, on other loops the loop's own machinery.
"""

from corolla.subprocess._compiled import COMPILED
from corolla.subprocess._process import (
    SubprocessStreamProtocol,
    create_subprocess_exec,
    create_subprocess_shell,
)
from corolla.subprocess._public import Process
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
    "Process",
    "SubprocessStreamProtocol",
    "SubprocessTransport",
    "create_subprocess_exec",
    "create_subprocess_shell",
    "subprocess_exec",
    "subprocess_shell",
]
