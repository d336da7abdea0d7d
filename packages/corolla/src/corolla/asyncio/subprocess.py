"""``asyncio.subprocess``'s names, as corolla's: ``corolla.asyncio.subprocess.PIPE`` and so on."""

from corolla.subprocess import (
    DEVNULL,
    PIPE,
    STDOUT,
    Process,
    SubprocessStreamProtocol,
    create_subprocess_exec,
    create_subprocess_shell,
)

__all__ = [
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "Process",
    "SubprocessStreamProtocol",
    "create_subprocess_exec",
    "create_subprocess_shell",
]
