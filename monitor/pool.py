"""A process pool for CPU-heavy stages (extraction, feed parsing), awaited from the loop."""

from __future__ import annotations

__all__ = ["CpuPool"]

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

from monitor.errors import NewsmonError
from monitor.extract import warm_up

P = ParamSpec("P")
T = TypeVar("T")


class CpuPool:
    """Worker processes sized to the cores, started lazily and warmed up.

    "spawn" rather than fork: forking a process that runs an event loop and the database's
    thread copies their locks in whatever state they are in.
    """

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or max(1, min(4, os.cpu_count() or 1))
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=warm_up,
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

    def close(self) -> None:
        """Stop the workers; work not started is cancelled."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
