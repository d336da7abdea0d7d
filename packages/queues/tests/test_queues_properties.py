"""Random schedules of producers, consumers, cancellations and shutdowns.

Each schedule runs against corolla's Queue and asyncio's Queue on the same
loop. Invariants checked on corolla's: every item put is got exactly once or
is still queued (or was discarded by ``shutdown(immediate=True)``); once the
loop is idle no getter sleeps while an item is queued and no putter sleeps
while there is room. The observable outcome of every schedule (what each task
got or raised, what is left queued) must be the same as asyncio's: there is
no intended difference in the queues, so any divergence fails the test.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import corolla.queues

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

Op = tuple[Any, ...]

# A schedule is a few rounds of: spawn blocked producers/consumers, let them
# park, fire triggers (nowait calls, task_done, shutdown) and cancel some
# tasks in the same step, i.e. after they were woken and before they ran:
# the window where wake-ups and items get lost.
spawn = st.sampled_from([("put",), ("get",)])
trigger = st.sampled_from(
    [
        ("put_nowait",),
        ("get_nowait",),
        ("task_done",),
        ("shutdown", False),
        ("shutdown", True),
        ("put",),
        ("get",),
    ]
)
cancel = st.tuples(st.just("cancel"), st.integers(-4, 3))


@st.composite
def rounds(draw: st.DrawFn) -> list[Op]:
    schedule: list[Op] = []
    for _ in range(draw(st.integers(1, 4))):
        schedule += draw(st.lists(spawn, max_size=4))
        schedule.append(("yield", draw(st.integers(1, 2))))
        schedule += draw(st.lists(trigger, max_size=3))
        schedule += draw(st.lists(cancel, max_size=2))
        if draw(st.booleans()):
            schedule.append(("yield", 1))
    return schedule


schedules = st.tuples(
    st.sampled_from(["Queue", "LifoQueue", "PriorityQueue"]),
    st.integers(0, 3),
    rounds(),
)


def _shutdown_error(impl: str) -> type[BaseException]:
    if impl == "corolla":
        return corolla.queues.QueueShutDown
    return getattr(asyncio, "QueueShutDown", corolla.queues.QueueShutDown)


@dataclass
class Outcome:
    tasks: list[str] = field(default_factory=list)
    nowait: list[str] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)
    put_ok: list[int] = field(default_factory=list)
    got: list[int] = field(default_factory=list)
    discarded: list[int] = field(default_factory=list)


def _describe(outcome: BaseException | Any, shutdown_error: type[BaseException]) -> str:
    if isinstance(outcome, asyncio.CancelledError):
        return "cancelled"
    if isinstance(outcome, shutdown_error):
        return "shutdown"
    if isinstance(outcome, BaseException):
        return type(outcome).__name__
    return f"ok:{outcome!r}"


async def _play(impl: str, kind: str, maxsize: int, schedule: list[Op]) -> Outcome:
    module: Any = corolla.queues if impl == "corolla" else asyncio
    if (
        impl == "stdlib"
        and sys.version_info < (3, 13)
        and any(op[0] == "shutdown" for op in schedule)
    ):
        raise _NoShutdown
    q = getattr(module, kind)(maxsize)
    shutdown_error = _shutdown_error(impl)
    out = Outcome()
    tasks: list[asyncio.Task[Any]] = []
    kinds: list[tuple[str, int]] = []
    counter = 0

    for op in schedule:
        name = op[0]
        if name == "put":
            counter += 1
            tasks.append(asyncio.create_task(q.put(counter)))
            kinds.append(("put", counter))
        elif name == "get":
            tasks.append(asyncio.create_task(q.get()))
            kinds.append(("get", 0))
        elif name == "put_nowait":
            counter += 1
            try:
                q.put_nowait(counter)
            except BaseException as exc:
                out.nowait.append(_describe(exc, shutdown_error))
            else:
                out.nowait.append("ok")
                out.put_ok.append(counter)
        elif name == "get_nowait":
            try:
                item = q.get_nowait()
            except BaseException as exc:
                out.nowait.append(_describe(exc, shutdown_error))
            else:
                out.nowait.append(f"ok:{item}")
                out.got.append(item)
        elif name == "cancel":
            if tasks:
                tasks[op[1] % len(tasks)].cancel()
        elif name == "yield":
            for _ in range(op[1]):
                await asyncio.sleep(0)
        elif name == "shutdown":
            if op[1]:
                out.discarded.extend(q._queue)
            q.shutdown(immediate=op[1])
        elif name == "task_done":
            try:
                q.task_done()
            except ValueError:
                out.nowait.append("task_done:ValueError")

    # Let everything that can run, run.
    for _ in range(10):
        await asyncio.sleep(0)

    # Liveness: an idle loop with a blocked getter and a queued item (or a
    # blocked putter and room) would be a lost wake-up.
    pending = [(k, t) for k, t in zip(kinds, tasks, strict=True) if not t.done()]
    if any(k[0] == "get" for k, _ in pending):
        assert q.empty(), f"getter asleep with items queued: {q!r}"
    if any(k[0] == "put" for k, _ in pending):
        assert q.full(), f"putter asleep with room: {q!r}"

    for t in tasks:
        if not t.done():
            t.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for (k, value), result in zip(kinds, results, strict=True):
        out.tasks.append(f"{k}:{_describe(result, shutdown_error)}")
        if isinstance(result, BaseException):
            continue
        if k == "put":
            out.put_ok.append(value)
        else:
            out.got.append(result)
    while not q.empty():
        out.remaining.append(q.get_nowait())
    return out


class _NoShutdown(Exception):
    """asyncio.Queue has no shutdown() before 3.13."""


def _run(impl: str, kind: str, maxsize: int, schedule: list[Op]) -> Outcome | None:
    try:
        return asyncio.run(_play(impl, kind, maxsize, schedule))
    except _NoShutdown:
        return None


# The two classic races, always tried: a getter (putter) woken for an item
# (a free slot) and cancelled before it runs must pass the wake-up on.
GETTER_RACE: list[Op] = [("get",), ("get",), ("yield", 1), ("put_nowait",), ("cancel", 0)]
PUTTER_RACE: list[Op] = [
    ("put",),
    ("put",),
    ("put",),
    ("yield", 1),
    ("get_nowait",),
    ("cancel", 1),
]


@SETTINGS
@given(schedules)
@example(("Queue", 0, GETTER_RACE))
@example(("Queue", 1, PUTTER_RACE))
def test_queue_schedules(case: tuple[str, int, list[Op]]) -> None:
    kind, maxsize, schedule = case
    ours = _run("corolla", kind, maxsize, schedule)
    assert ours is not None
    # Every item put is got exactly once, still queued, or discarded.
    accounted = sorted(ours.got + ours.remaining + ours.discarded)
    assert accounted == sorted(ours.put_ok)
    theirs = _run("stdlib", kind, maxsize, schedule)
    if theirs is not None:
        assert ours == theirs
