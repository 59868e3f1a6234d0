"""The daemon's HTTP endpoint (aiohttp): ``/metrics`` for Prometheus, ``/healthz`` for probes.

Off unless the config has an ``endpoint:``; bound to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

__all__ = ["serve_endpoint"]

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from monitor.config import EndpointConfig

if TYPE_CHECKING:
    from monitor.service import Service


def _app(service: Service) -> web.Application:
    async def metrics(request: web.Request) -> web.Response:
        stats = await service.pipeline.store.stats(
            failing_after=service.pipeline.polling.failures_before_alert
        )
        body = service.metrics.render(stats)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        problems = await service.health()
        if problems:
            return web.json_response({"status": "unhealthy", "problems": problems}, status=503)
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    return app


@asynccontextmanager
async def serve_endpoint(service: Service, config: EndpointConfig) -> AsyncIterator[str]:
    """Serve the endpoint while the context is open; yields the address it listens on."""
    runner = web.AppRunner(_app(service), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
