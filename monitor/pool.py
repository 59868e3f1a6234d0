"""A process pool for CPU-heavy stages (extraction, feed parsing), awaited from the loop."""

from __future__ import annotations

__all__ = ["CpuPool"]

import asyncio
import multiprocessing
import os
import pickle
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ParamSpec, TypeVar

from monitor.errors import NewsmonError
from monitor.extract import warm_up

P = ParamSpec("P")
T = TypeVar("T")


# How much lower the workers' CPU priority is than the daemon's (Unix niceness, added).
WORKER_NICENESS = 10


def _start_worker() -> None:
    # The event loop (polls, timeouts, alert delivery, the health endpoint) must keep its core
    # when extraction and parsing are busy; the workers' work can wait a little. Without this,
    # on a 2-CPU machine the workers took CPU from the loop: bench/poll.py's median round went
    # from 0.47 to 0.55 of bare aiohttp's rate with it.
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    warm_up()


def _call_each(
    fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]
) -> list[tuple[Exception | None, Any]]:
    """``fn`` on each argument tuple, in a worker: (None, result) or (error, None) for each.

    An error travels with its worker-side traceback as a note (``pool.run`` chains a remote
    traceback; a batch cannot), and one that cannot be pickled travels as a NewsmonError
    saying what it was: otherwise the whole batch's reply would fail to pickle, and every
    caller in it would fail for one.
    """
    results: list[tuple[Exception | None, Any]] = []
    for args in calls:
        try:
            results.append((None, fn(*args)))
        except Exception as exc:  # the caller of that one call raises it
            note = f"in the worker process:\n{traceback.format_exc()}"
            try:
                pickle.dumps(exc)
            except Exception:
                exc = NewsmonError(f"{type(exc).__name__}: {exc}")
            exc.add_note(note)
            results.append((exc, None))
    return results


@dataclass
class _Batch:
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    waiters: list[asyncio.Future[Any]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class CpuPool:
    """Worker processes sized to the cores, started lazily, warmed up, and at a lower CPU
    priority than the daemon (``WORKER_NICENESS``).

    "spawn" rather than fork: forking a process that runs an event loop and the database's
    thread copies their locks in whatever state they are in.

    ``batch_size`` and ``batch_wait`` bound how :meth:`run_batched` gathers small calls.
    """

    def __init__(
        self, workers: int | None = None, *, batch_size: int = 16, batch_wait: float = 0.005
    ) -> None:
        self._workers = workers or max(1, min(4, os.cpu_count() or 1))
        self._executor: ProcessPoolExecutor | None = None
        self._batch_size = batch_size
        self._batch_wait = batch_wait
        self._batches: dict[Callable[..., Any], _Batch] = {}
        self._sending: set[asyncio.Task[None]] = set()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
        return self._executor

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args)`` in a worker process and return its result (or raise its error)."""
        if kwargs:
            raise TypeError("CpuPool.run takes positional arguments only")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), fn, *args)
        except BrokenProcessPool as exc:
            # A worker died (out of memory on a hostile page, killed): start a fresh pool.
            self._executor = None
            raise NewsmonError(f"worker process died: {exc}") from exc

    async def run_batched(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """:meth:`run`, for many small calls: those made within ``batch_wait`` seconds of each
        other (up to ``batch_size``) share one trip to a worker, and each caller gets its own
        result or error.

        Each trip costs the event loop's process about 0.25 ms of pickling, pipes and thread
        hand-offs, whatever it carries: more than the parse of a feed's one new entry
        (bench/poll.py). A call waits at most ``batch_wait`` longer for company.
        """
        if kwargs:
            raise TypeError("CpuPool.run_batched takes positional arguments only")
        loop = asyncio.get_running_loop()
        batch = self._batches.get(fn)
        if batch is None:
            batch = self._batches[fn] = _Batch()
            batch.timer = loop.call_later(self._batch_wait, self._send, fn)
        waiter: asyncio.Future[T] = loop.create_future()
        batch.calls.append(args)
        batch.waiters.append(waiter)
        if len(batch.calls) >= self._batch_size:
            self._send(fn)
        return await waiter

    def _send(self, fn: Callable[..., Any]) -> None:
        batch = self._batches.pop(fn, None)
        if batch is None:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        task = asyncio.get_running_loop().create_task(self._deliver(fn, batch))
        self._sending.add(task)  # a task nobody references can be collected mid-flight
        task.add_done_callback(partial(self._delivered, batch))

    def _delivered(self, batch: _Batch, task: asyncio.Task[None]) -> None:
        # However the trip ended (cancelled at shutdown, even before it began), no caller
        # waits for ever: those still waiting are cancelled, as with a direct run().
        self._sending.discard(task)
        for waiter in batch.waiters:
            if not waiter.done():
                waiter.cancel()

    async def _deliver(self, fn: Callable[..., Any], batch: _Batch) -> None:
        try:
            results = await self.run(_call_each, fn, batch.calls)
        except Exception as exc:
            # A dead worker (or a bug): every caller of the batch hears it, each its own error.
            for waiter in batch.waiters:
                if not waiter.done():
                    failure = NewsmonError(str(exc) or type(exc).__name__)
                    failure.__cause__ = exc
                    waiter.set_exception(failure)
            return
        for waiter, (error, result) in zip(batch.waiters, results, strict=True):
            if waiter.done():  # its caller was cancelled meanwhile
                continue
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(result)

    def close(self) -> None:
        """Stop the workers; work not started is cancelled."""
        for batch in self._batches.values():
            if batch.timer is not None:
                batch.timer.cancel()
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_exception(NewsmonError("the worker pool was closed"))
        self._batches.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
