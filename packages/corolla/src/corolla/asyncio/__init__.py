"""The whole corolla asyncio API in one namespace.

``import corolla.asyncio as asyncio`` gives a module shaped like the stdlib's
``asyncio``: ``asyncio.run(main())`` runs on the corolla event loop, and
``Future``, ``Task``, ``gather``, ``TaskGroup``, ``Lock``, ``Queue``… are
corolla's own. The exceptions, the abstract interfaces and the running-loop
functions are the stdlib's very objects, so ``except asyncio.CancelledError``
and ``isinstance(x, asyncio.AbstractEventLoop)`` mean the same thing whichever
``asyncio`` a library imported.

``corolla.asyncio.subprocess`` mirrors ``asyncio.subprocess`` (``PIPE``,
``Process``, ...) with corolla's own objects.
"""

# The stdlib objects other libraries must share with us (DESIGN.md's
# interop contract): exceptions, abstract interfaces, loop registries.
from asyncio import (
    AbstractEventLoop,
    AbstractEventLoopPolicy,
    AbstractServer,
    BrokenBarrierError,
    CancelledError,
    IncompleteReadError,
    InvalidStateError,
    LimitOverrunError,
    SendfileNotAvailableError,
    TimeoutError,
    get_event_loop,
    get_event_loop_policy,
    get_running_loop,
    set_event_loop,
    set_event_loop_policy,
)

from corolla.asyncio._compiled import COMPILED
from corolla.futures import (
    Future,
    future_add_to_awaited_by,
    future_discard_from_awaited_by,
    isfuture,
    wrap_future,
)
from corolla.loop import (
    EventLoop,
    EventLoopPolicy,
    Handle,
    Runner,
    TimerHandle,
    new_event_loop,
    run,
)
from corolla.queues import (
    LifoQueue,
    PriorityQueue,
    Queue,
    QueueEmpty,
    QueueFull,
    QueueShutDown,
)
from corolla.streams import (
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)
from corolla.subprocess import create_subprocess_exec, create_subprocess_shell
from corolla.sync import Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore
from corolla.tasks import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    FrameCallGraphEntry,
    FutureCallGraph,
    Task,
    TaskGroup,
    Timeout,
    all_tasks,
    as_completed,
    capture_call_graph,
    create_eager_task_factory,
    create_task,
    current_task,
    eager_task_factory,
    ensure_future,
    format_call_graph,
    gather,
    iscoroutine,
    iscoroutinefunction,
    print_call_graph,
    run_coroutine_threadsafe,
    shield,
    sleep,
    timeout,
    timeout_at,
    to_thread,
    wait,
    wait_for,
)
from corolla.transports import (
    BaseProtocol,
    BaseTransport,
    BufferedProtocol,
    DatagramProtocol,
    DatagramTransport,
    Protocol,
    ReadTransport,
    Server,
    SubprocessProtocol,
    SubprocessTransport,
    Transport,
    WriteTransport,
)

#: The stdlib's name for the default policy class.
DefaultEventLoopPolicy = EventLoopPolicy

__all__ = [
    "COMPILED",
    # running
    "run",
    "Runner",
    "EventLoop",
    "new_event_loop",
    "get_running_loop",
    "get_event_loop",
    "set_event_loop",
    "EventLoopPolicy",
    "DefaultEventLoopPolicy",
    "get_event_loop_policy",
    "set_event_loop_policy",
    "Handle",
    "TimerHandle",
    "AbstractEventLoop",
    "AbstractEventLoopPolicy",
    "AbstractServer",
    "Server",
    # futures and tasks
    "Future",
    "isfuture",
    "wrap_future",
    "Task",
    "create_task",
    "TaskGroup",
    "Timeout",
    "timeout",
    "timeout_at",
    "ensure_future",
    "gather",
    "shield",
    "wait",
    "wait_for",
    "as_completed",
    "sleep",
    "to_thread",
    "run_coroutine_threadsafe",
    "current_task",
    "all_tasks",
    "eager_task_factory",
    "create_eager_task_factory",
    "iscoroutine",
    "iscoroutinefunction",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "ALL_COMPLETED",
    # call-graph introspection (3.14's)
    "capture_call_graph",
    "format_call_graph",
    "print_call_graph",
    "FrameCallGraphEntry",
    "FutureCallGraph",
    "future_add_to_awaited_by",
    "future_discard_from_awaited_by",
    # synchronisation
    "Lock",
    "Event",
    "Condition",
    "Semaphore",
    "BoundedSemaphore",
    "Barrier",
    # queues
    "Queue",
    "LifoQueue",
    "PriorityQueue",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
    # streams and subprocesses
    "StreamReader",
    "StreamWriter",
    "StreamReaderProtocol",
    "open_connection",
    "start_server",
    "open_unix_connection",
    "start_unix_server",
    "create_subprocess_exec",
    "create_subprocess_shell",
    # protocols and transports
    "BaseProtocol",
    "Protocol",
    "BufferedProtocol",
    "DatagramProtocol",
    "SubprocessProtocol",
    "BaseTransport",
    "ReadTransport",
    "WriteTransport",
    "Transport",
    "DatagramTransport",
    "SubprocessTransport",
    # exceptions
    "CancelledError",
    "InvalidStateError",
    "TimeoutError",
    "IncompleteReadError",
    "LimitOverrunError",
    "BrokenBarrierError",
    "SendfileNotAvailableError",
]
