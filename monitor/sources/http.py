"""The HTTP client: one pooled session with time, size and redirect bounds, and an SSRF guard.

Every failure leaves :meth:`HttpClient.get` as :class:`monitor.errors.FetchError`; aiohttp,
asyncio and OS errors are translated here and nowhere else (like httpx's
``map_httpcore_exceptions``).
"""

from __future__ import annotations

__all__ = ["HttpClient", "HttpLimits", "Response", "parse_retry_after"]

import asyncio
import ipaddress
import socket
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import aiohttp
import brotli
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

import monitor
from monitor.errors import FetchError

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Request headers that must not follow a redirect to another host.
_CREDENTIAL_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class HttpLimits:
    """Bounds on every request: seconds, bytes, hops and concurrent connections."""

    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_feed_bytes: int = 10 * 2**20
    max_page_bytes: int = 5 * 2**20
    max_redirects: int = 5
    per_host: int = 2
    total: int = 20


@dataclass(frozen=True)
class Response:
    """A successful (2xx) or not-modified (304) response, its body read in full and decoded.

    ``url`` is the final URL after redirects; ``headers`` is case-insensitive.
    """

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


class _Refused(Exception):
    """The SSRF guard refused an address; raised inside aiohttp, translated in ``get``."""

    def __init__(self, host: str, address: str, why: str) -> None:
        self.host = host
        self.address = address
        self.why = why
        if host == address:
            super().__init__(f"{address} is {why}")
        else:
            super().__init__(f"{host} resolves to {address}, which is {why}")


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"body larger than {limit} bytes")


class _AddressPolicy:
    """Which addresses a guarded request may connect to."""

    def __init__(self, allow_networks: Sequence[str]) -> None:
        self._allow: tuple[_IPNetwork, ...] = tuple(
            ipaddress.ip_network(net, strict=False) for net in allow_networks
        )

    def refusal(self, address: str) -> str | None:
        """Why ``address`` is refused, or None when it may be connected to."""
        try:
            ip: _IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "not a canonical IP address"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            # ::ffff:127.0.0.1 reaches 127.0.0.1; Python 3.11 does not call it loopback.
            ip = ip.ipv4_mapped
        if any(ip in net for net in self._allow):
            return None
        for why, hit in (
            # Most specific first: 0.0.0.0 and 127.0.0.1 are "private" too.
            ("the unspecified address", ip.is_unspecified),
            ("a loopback address", ip.is_loopback),
            ("a link-local address", ip.is_link_local),
            ("a multicast address", ip.is_multicast),
            ("a private address", ip.is_private),
            ("a reserved address", ip.is_reserved),
            ("not a public address", not ip.is_global),
        ):
            if hit:
                return why
        return None

    def check_literal(self, host: str) -> None:
        """Refuse an IP-literal host: aiohttp connects to those without asking the resolver."""
        if ":" in host or host.replace(".", "").isdigit():
            why = self.refusal(host)
            if why is not None:
                raise _Refused(host, host, why)


class _GuardedResolver(AbstractResolver):
    """Resolves names and refuses the lot if any address is off limits.

    The connector connects only to the addresses returned here, so the address checked is the
    address connected to: there is no second lookup for DNS rebinding to slip into.
    """

    def __init__(self, policy: _AddressPolicy) -> None:
        self._policy = policy
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            why = self._policy.refusal(result["host"])
            if why is not None:
                raise _Refused(host, result["host"], why)
        return results

    async def close(self) -> None:
        await self._inner.close()


class _HostSlots:
    """One semaphore per host, dropped when its last user leaves (no unbounded growth).

    ``enter`` and ``leave`` rather than an async context manager: this runs for every request,
    and a generator-based manager costs more than the bookkeeping itself.
    """

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._slots: dict[str, list[Any]] = {}  # host -> [semaphore, users]

    def enter(self, host: str) -> asyncio.Semaphore:
        """The host's semaphore, counted as used until :meth:`leave` (acquire it yourself)."""
        entry = self._slots.get(host)
        if entry is None:
            entry = self._slots[host] = [asyncio.Semaphore(self._per_host), 0]
        entry[1] += 1
        semaphore: asyncio.Semaphore = entry[0]
        return semaphore

    def leave(self, host: str) -> None:
        entry = self._slots[host]
        entry[1] -= 1
        if entry[1] == 0:
            del self._slots[host]


class _Decoder:
    """Undoes Content-Encoding while counting decoded bytes, so a bomb stops at the cap."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._encoding = encoding.strip().lower()
        self._limit = limit
        self._size = 0
        self._parts: list[bytes] = []
        self._zlib: zlib._Decompress | None = None
        self._brotli: brotli.Decompressor | None = None
        if self._encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._encoding == "br":
            self._brotli = brotli.Decompressor()
        elif self._encoding not in ("", "identity", "deflate"):
            raise ValueError(f"unsupported content encoding {encoding!r}")

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self._encoding in ("", "identity"):
            self._keep(data)
            return
        if self._brotli is not None:
            self._feed_brotli(self._brotli, data)
            return
        if self._zlib is None:
            # "deflate" should be zlib-wrapped, but many servers send raw deflate.
            wbits = zlib.MAX_WBITS if data[0] & 0x0F == 8 else -zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(wbits)
        while data:
            # max_length bounds what one call may inflate: at most one byte over the cap.
            self._keep(self._zlib.decompress(data, self._limit - self._size + 1))
            data = self._zlib.unconsumed_tail
            if self._zlib.eof and self._zlib.unused_data[:2] == b"\x1f\x8b":
                # Another gzip member follows (concatenated gzip is legal).
                data = self._zlib.unused_data
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _feed_brotli(self, decoder: brotli.Decompressor, data: bytes) -> None:
        # output_buffer_limit (Brotli >= 1.2) bounds each call, as max_length does for zlib:
        # a bomb stops at the cap instead of inflating a chunk into gigabytes first.
        out = decoder.process(data, output_buffer_limit=self._limit - self._size + 1)
        self._keep(out)
        while out and not decoder.can_accept_more_data():
            out = decoder.process(b"", output_buffer_limit=self._limit - self._size + 1)
            self._keep(out)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise _TooLarge(self._limit)
        self._parts.append(data)

    def body(self) -> bytes:
        return b"".join(self._parts)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpClient:
    """Shared HTTP client; use as ``async with HttpClient(limits) as client``.

    ``allow_networks`` (CIDR strings; a bad one is a ValueError here) are exempt from the SSRF
    guard. ``limits`` stays readable so callers can pass the right ``max_bytes``.

    Guarded and unguarded requests use separate connection pools: a pooled connection opened
    for an ops-configured feed on an internal host must never be reused by a guarded request.
    """

    def __init__(
        self,
        limits: HttpLimits = HttpLimits(),
        *,
        allow_networks: Sequence[str] = (),
        user_agent: str = monitor.USER_AGENT,
    ) -> None:
        self.limits = limits
        self._policy = _AddressPolicy(allow_networks)
        self._user_agent = user_agent
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._host_slots = _HostSlots(limits.per_host)
        self._total_slots = asyncio.Semaphore(limits.total)

    async def __aenter__(self) -> Self:
        for guard in (False, True):
            connector = aiohttp.TCPConnector(
                limit=self.limits.total,
                limit_per_host=self.limits.per_host,
                resolver=_GuardedResolver(self._policy) if guard else None,
            )
            self._sessions[guard] = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self._user_agent, "Accept-Encoding": "gzip, deflate, br"},
                # We decode ourselves so that the size cap applies to the decoded bytes.
                auto_decompress=False,
                # Cookies shared across every feed would leak state between sites.
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=self.limits.connect_timeout,
                    sock_connect=self.limits.connect_timeout,
                ),
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int,
        guard: bool,
    ) -> Response:
        """GET ``url``, following redirects, and return its decoded body.

        ``guard=True`` (URLs taken from a feed) refuses non-public addresses on every hop.
        Raises FetchError for every failure; a 304 is returned, not raised.
        """
        session = self._sessions.get(guard)
        if session is None:
            raise RuntimeError("HttpClient used outside 'async with'")
        target = _http_url(url)
        request_headers = CIMultiDict(headers or {})
        deadline: float | None = None
        for _hop in range(self.limits.max_redirects + 1):
            host = target.host or ""
            slots = self._host_slots.enter(host)
            try:
                if guard:
                    self._policy.check_literal(host)
                async with slots, self._total_slots:
                    # The clock starts once we have a slot: waiting in line is not the server's
                    # fault, but every hop and every byte after that share one deadline.
                    if deadline is None:
                        deadline = asyncio.get_running_loop().time() + self.limits.total_timeout
                    async with asyncio.timeout_at(deadline):
                        response, location = await self._hop(
                            session, target, request_headers, max_bytes
                        )
            except FetchError:
                raise
            except Exception as exc:
                failure = _translate_error(exc, str(target), self.limits.total_timeout)
                if failure is None:
                    raise  # a bug, not the network
                raise failure from exc
            finally:
                self._host_slots.leave(host)
            if response is not None:
                return response
            assert location is not None
            if location.host != target.host:
                for name in _CREDENTIAL_HEADERS:
                    request_headers.popall(name, None)
            target = location
        raise FetchError(url, f"more than {self.limits.max_redirects} redirects", permanent=True)

    async def _hop(
        self,
        session: aiohttp.ClientSession,
        target: URL,
        headers: CIMultiDict[str],
        max_bytes: int,
    ) -> tuple[Response | None, URL | None]:
        """One request: a Response, or the URL a redirect points to."""
        async with session.get(target, headers=headers, allow_redirects=False) as resp:
            status = resp.status
            if status in _REDIRECTS and "Location" in resp.headers:
                try:
                    location = _http_url(str(resp.url.join(URL(resp.headers["Location"]))))
                except ValueError as exc:
                    raise FetchError(str(target), f"bad redirect: {exc}", status=status) from exc
                return None, location
            if status == 304:
                return Response(str(resp.url), status, resp.headers, b""), None
            if not 200 <= status < 300:
                raise FetchError(
                    str(target),
                    f"HTTP {status} {resp.reason or ''}".rstrip(),
                    status=status,
                    retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                    permanent=400 <= status < 500 and status not in (408, 429),
                )
            encoding = resp.headers.get("Content-Encoding", "").strip().lower()
            length = resp.content_length
            if length is not None and length > max_bytes and encoding in ("", "identity"):
                raise _TooLarge(max_bytes)
            try:
                decoder = _Decoder(encoding, max_bytes)
            except ValueError as exc:
                raise FetchError(str(target), str(exc), status=status, permanent=True) from exc
            raw = 0
            async for chunk in resp.content.iter_chunked(_READ_CHUNK):
                # The compressed stream is capped too: inflating never shrinks it much.
                raw += len(chunk)
                if raw > max_bytes:
                    raise _TooLarge(max_bytes)
                decoder.feed(chunk)
            headers_copy = CIMultiDictProxy(CIMultiDict(resp.headers))
            return Response(str(resp.url), status, headers_copy, decoder.body()), None


def _http_url(url: str) -> URL:
    """Parse an absolute http(s) URL, or raise a permanent FetchError."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError) as exc:
        raise FetchError(url, f"invalid URL: {exc}", permanent=True) from exc
    if parsed.scheme not in ("http", "https"):
        raise FetchError(url, f"unsupported URL scheme {parsed.scheme!r}", permanent=True)
    if not parsed.host:
        raise FetchError(url, "URL has no host", permanent=True)
    return parsed


def _find_refusal(exc: BaseException) -> _Refused | None:
    """The guard's refusal somewhere in ``exc``'s chain (aiohttp may wrap it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _Refused):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _translate_error(exc: Exception, url: str, total_timeout: float) -> FetchError | None:
    """What aiohttp, asyncio, zlib or the OS raised for ``url``, as a FetchError; None for
    anything else (a bug, to be raised as it is)."""

    def fail(reason: str, *, permanent: bool = False) -> FetchError:
        return FetchError(url, reason, permanent=permanent)

    if isinstance(exc, _TooLarge):
        # The same request will bring the same oversized body.
        return fail(str(exc), permanent=True)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return fail("connect timed out")
    if isinstance(exc, TimeoutError):
        return fail(f"no complete response within {total_timeout:g}s")
    refused = _find_refusal(exc)
    if refused is not None:
        return fail(f"refused: {refused}", permanent=True)
    if isinstance(exc, aiohttp.InvalidURL):
        return fail(f"invalid URL: {exc}", permanent=True)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return fail(f"DNS lookup failed: {exc.os_error}")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return fail(f"TLS error: {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return fail(f"cannot connect: {exc.os_error}")
    if isinstance(
        exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | ConnectionError
    ):
        return fail(f"connection lost: {exc}")
    if isinstance(exc, zlib.error | brotli.error):
        return fail(f"cannot decode body: {exc}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return fail(f"bad response: {exc.message}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return fail(f"{type(exc).__name__}: {exc}")
    return None
