"""The worker pool's batched calls: each caller its own result or error, in real processes."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from monitor.errors import NewsmonError
from monitor.pool import WORKER_NICENESS, CpuPool


def square(n: int) -> int:
    if n < 0:
        raise ValueError(f"negative: {n}")
    return n * n


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def fails_oddly(n: int) -> int:
    if n == 0:
        raise Unpicklable
    return n


def broken_lookup(n: int) -> int:
    table: dict[int, int] = {}
    return table[n]


def niceness(_: int) -> int:
    return os.nice(0)


def die(n: int) -> int:
    os._exit(3)  # a worker killed mid-task, as by the OOM killer


@pytest.fixture
def pool() -> Iterator[CpuPool]:
    cpu = CpuPool(workers=1, batch_size=4, batch_wait=0.05)
    yield cpu
    cpu.close()


async def test_each_caller_gets_its_own_result(pool: CpuPool) -> None:
    results = await asyncio.gather(*(pool.run_batched(square, n) for n in range(10)))
    assert results == [n * n for n in range(10)]


async def test_one_bad_call_fails_alone(pool: CpuPool) -> None:
    results = await asyncio.gather(
        pool.run_batched(square, 2),
        pool.run_batched(square, -1),
        pool.run_batched(square, 3),
        return_exceptions=True,
    )
    assert results[0] == 4 and results[2] == 9
    assert isinstance(results[1], ValueError) and "negative: -1" in str(results[1])


async def test_an_error_that_cannot_travel_fails_alone(pool: CpuPool) -> None:
    """An exception that cannot be pickled would fail the whole batch's reply: it comes back
    as a NewsmonError that names it, and the other calls keep their results."""
    results = await asyncio.gather(
        pool.run_batched(fails_oddly, 0),
        pool.run_batched(fails_oddly, 7),
        return_exceptions=True,
    )
    assert results[1] == 7
    assert isinstance(results[0], NewsmonError) and "Unpicklable: holds a lock" in str(results[0])
    # The note is where the call failed, not where pickling its error did.
    assert "fails_oddly" in "".join(results[0].__notes__)


async def test_a_bug_keeps_its_worker_traceback(pool: CpuPool) -> None:
    """The worker's frames reach the log: the error carries them as a note."""
    with pytest.raises(KeyError) as caught:
        await pool.run_batched(broken_lookup, 3)
    notes = "".join(getattr(caught.value, "__notes__", []))
    assert "in the worker process" in notes and "broken_lookup" in notes


async def test_a_lone_call_is_sent_when_no_company_comes(pool: CpuPool) -> None:
    # The batch never fills (size 4): the call still leaves, batch_wait (0.05 s) after it came.
    assert await asyncio.wait_for(pool.run_batched(square, 5), 20) == 25


async def test_a_full_batch_leaves_at_once() -> None:
    cpu = CpuPool(workers=1, batch_size=2, batch_wait=30.0)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(cpu.run_batched(square, 2), cpu.run_batched(square, 3)), 20
        )
        assert results == [4, 9]
    finally:
        cpu.close()


async def test_a_dead_worker_fails_every_call_of_its_batch_and_the_pool_recovers(
    pool: CpuPool,
) -> None:
    results = await asyncio.gather(
        pool.run_batched(die, 1), pool.run_batched(die, 2), return_exceptions=True
    )
    assert all(isinstance(r, NewsmonError) for r in results), results
    assert all("worker process died" in str(r) for r in results)
    assert await pool.run_batched(square, 6) == 36


async def test_close_fails_calls_still_waiting_for_company() -> None:
    cpu = CpuPool(workers=1, batch_size=8, batch_wait=30.0)
    waiting = asyncio.ensure_future(cpu.run_batched(square, 2))
    await asyncio.sleep(0.01)
    cpu.close()
    with pytest.raises(NewsmonError, match="closed"):
        await waiting


async def test_workers_yield_the_cpu_to_the_event_loop(pool: CpuPool) -> None:
    """Workers run at a lower priority, so busy extraction cannot starve polls and alerts."""
    assert await pool.run(niceness, 0) == min(19, os.nice(0) + WORKER_NICENESS)


async def test_a_trip_cancelled_before_it_began_leaves_no_caller_waiting() -> None:
    """At shutdown the trip's task can be cancelled before its first step: its callers are
    cancelled with it, as they would be with a direct run(), never left waiting."""
    cpu = CpuPool(workers=1, batch_size=2, batch_wait=30.0)
    try:
        calls = [asyncio.ensure_future(cpu.run_batched(square, n)) for n in (2, 3)]
        await asyncio.sleep(0)  # both joined; the full batch's trip is a task not yet begun
        for trip in list(cpu._sending):
            trip.cancel()
        done, pending = await asyncio.wait(calls, timeout=20)
        assert not pending and all(call.cancelled() for call in done)
    finally:
        cpu.close()
