"""The public Process class, defined by the interpreter over the compiled core.

This module is never compiled (``exclude`` in pyproject.toml). asyncio's
Process is a plain Python class: user code weak-references it, tags it with
attributes and subclasses it. A class mypyc compiles has no ``__dict__`` and
no weak-reference slot (and one compiled with ``native_class=False`` checks
``self`` against its exact class, refusing subclasses); an interpreted
subclass of a compiled core gives all three, with the core's compiled methods.
"""

from __future__ import annotations

from corolla.subprocess import _process
from corolla.subprocess._process import ProcessCore


class Process(ProcessCore):
    """A child process started by :func:`create_subprocess_exec` or :func:`create_subprocess_shell`.

    ``stdin`` is a :class:`corolla.streams.StreamWriter` and ``stdout`` and
    ``stderr`` are :class:`corolla.streams.StreamReader` objects when the
    matching argument was PIPE, else None.
    """


_process.process_class = Process
