"""Child watching: one watch per child, by pidfd or by a waiting thread.

Only the watched pid is ever waited for (never ``waitpid(-1)``), and the
status is collected in the loop's thread whenever the platform allows it, so
a signal sent from the loop's thread can never reach a recycled pid.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Final

logger: Final = logging.getLogger("corolla.subprocess")

_MODES: Final = ("auto", "pidfd", "thread")
_mode: list[str] = ["auto"]


def set_watch_mode(mode: str) -> str:
    """Choose how new children are watched ("auto", "pidfd" or "thread"); returns the old mode.

    "auto" uses a pidfd where the kernel and the loop allow it, a thread otherwise.
    "pidfd" falls back to a thread as well when a pidfd cannot be used.
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES!r}, not {mode!r}")
    old = _mode[0]
    _mode[0] = mode
    return old


def get_watch_mode() -> str:
    """The mode set by set_watch_mode()."""
    return _mode[0]


def _exit_code(status: int) -> int:
    return os.waitstatus_to_exitcode(status)


_HAVE_WAITID: Final = sys.platform == "linux" and hasattr(os, "waitid")


class ChildWatch:
    """Watches one child process and reports its exit code once, in the loop's thread."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        proc: subprocess.Popen[bytes],
        on_exit: Callable[[int], None],
    ) -> None:
        self._loop = loop
        self._proc = proc
        self._pid: int = proc.pid
        self._on_exit: Callable[[int], None] | None = on_exit
        self._pidfd = -1
        self._reader_added = False
        self._waiter_thread: threading.Thread | None = None
        self._done = False
        self.kind = ""

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        """Begin watching: pidfd + add_reader when possible, else a thread."""
        if _mode[0] != "thread" and self._start_pidfd():
            self.kind = "pidfd"
            return
        self.kind = "thread"
        thread = threading.Thread(
            target=self._thread_main, name=f"corolla-waitpid-{self._pid}", daemon=True
        )
        self._waiter_thread = thread
        thread.start()

    def _start_pidfd(self) -> bool:
        pidfd_open = getattr(os, "pidfd_open", None)
        if pidfd_open is None:
            return False
        try:
            pidfd: int = pidfd_open(self._pid)
        except OSError:
            # ENOSYS (old kernel), EPERM (seccomp), ESRCH (already reaped elsewhere).
            return False
        try:
            self._loop.add_reader(pidfd, self._pidfd_ready)
        except (NotImplementedError, OSError, ValueError):
            os.close(pidfd)
            return False
        self._pidfd = pidfd
        self._reader_added = True
        return True

    # ------------------------------------------------------------------ pidfd

    def _pidfd_ready(self) -> None:
        if self._done:
            return
        self._try_reap()

    def _close_pidfd(self) -> None:
        if self._reader_added:
            self._reader_added = False
            if not self._loop.is_closed():
                self._loop.remove_reader(self._pidfd)
        if self._pidfd >= 0:
            fd = self._pidfd
            self._pidfd = -1
            os.close(fd)

    # ------------------------------------------------------------------ thread

    def _thread_main(self) -> None:
        pid = self._pid
        reaped: int | None = None
        try:
            if _HAVE_WAITID:
                # Wait without collecting: the status is collected in the
                # loop's thread, where signals are sent from.
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            else:
                _, status = os.waitpid(pid, 0)
                reaped = _exit_code(status)
        except ChildProcessError:
            pass  # collected by someone else (Popen.wait()/poll() of the user)
        except OSError as exc:  # pragma: no cover - not expected on a child of ours
            logger.warning("waiting for child process %d failed: %r", pid, exc)
        try:
            self._loop.call_soon_threadsafe(self._thread_done, reaped)
        except RuntimeError:
            # The loop is closed: nobody will collect the status, so do it here.
            if reaped is None:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass

    def _thread_done(self, reaped: int | None) -> None:
        if self._done:
            return
        if reaped is not None:
            self._finish(reaped)
        elif not self._try_reap():
            # Only a stop/continue or a spurious wake-up: keep waiting.
            self._waiter_thread = threading.Thread(
                target=self._thread_main, name=f"corolla-waitpid-{self._pid}", daemon=True
            )
            self._waiter_thread.start()

    # ------------------------------------------------------------------ both

    def _try_reap(self) -> bool:
        try:
            pid, status = os.waitpid(self._pid, os.WNOHANG)
        except ChildProcessError:
            # Collected elsewhere (the Popen object of this child, by the user).
            code = self._proc.returncode
            if code is None:
                logger.warning(
                    "child process pid %d exit status already read: will report returncode 255",
                    self._pid,
                )
                code = 255
            self._finish(code)
            return True
        if pid == 0:
            return False
        self._finish(_exit_code(status))
        return True

    def _finish(self, code: int) -> None:
        self._done = True
        self._close_pidfd()
        if self._proc.returncode is None:
            self._proc.returncode = code
        on_exit = self._on_exit
        self._on_exit = None
        if on_exit is not None:
            on_exit(code)

    def is_done(self) -> bool:
        """True once the exit was reported (or the watch abandoned)."""
        return self._done

    def abandon(self) -> None:
        """Stop watching for the loop; make sure the child is still collected.

        Used when the transport goes away while its loop is closed: the status
        is collected by a daemon thread, so no zombie is left behind.
        """
        if self._done:
            return
        self._done = True
        self._on_exit = None
        pidfd_watch = self._pidfd >= 0
        self._close_pidfd()
        if not pidfd_watch:
            return  # the watching thread collects it itself once the loop is closed
        proc = self._proc
        pid = self._pid

        def reap() -> None:
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                return
            if proc.returncode is None:
                proc.returncode = _exit_code(status)

        threading.Thread(target=reap, name=f"corolla-reap-{pid}", daemon=True).start()
