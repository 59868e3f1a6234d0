"""The systemd notify protocol: READY, STATUS, WATCHDOG, RELOADING, STOPPING.

A datagram to ``$NOTIFY_SOCKET`` per message, as sd_notify(3) describes. It is a few lines, so
it lives here rather than in a dependency (python-systemd needs libsystemd to build; sdnotify
is unmaintained). Outside systemd every call is a no-op.
"""

from __future__ import annotations

__all__ = ["Notifier"]

import contextlib
import os
import socket
import time


class Notifier:
    """Tells systemd how the service is doing; silent when not run by systemd."""

    def __init__(
        self,
        socket_path: str | None = None,
        *,
        watchdog_usec: str | None = None,
        watchdog_pid: str | None = None,
    ) -> None:
        path = socket_path if socket_path is not None else os.environ.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace.
        self._address = "\0" + path[1:] if path.startswith("@") else path
        usec = watchdog_usec if watchdog_usec is not None else os.environ.get("WATCHDOG_USEC")
        pid = watchdog_pid if watchdog_pid is not None else os.environ.get("WATCHDOG_PID")
        self.watchdog_s: float | None = None
        if usec and usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_s = int(usec) / 1_000_000

    @property
    def enabled(self) -> bool:
        """Whether systemd is listening."""
        return bool(self._address)

    def notify(self, *lines: str) -> None:
        """Send ``KEY=value`` lines in one datagram; errors are ignored (systemd may be gone)."""
        if not self._address:
            return
        # Non-blocking: a reader that has fallen behind must never stall the event loop; a
        # message it cannot take is dropped (the next STATUS or WATCHDOG follows soon).
        kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, kind) as sock:
            sock.sendto("\n".join(lines).encode(), self._address)

    def ready(self, status: str) -> None:
        """Started (or reloaded) and working."""
        self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        """One line that ``systemctl status`` shows."""
        self.notify(f"STATUS={status}")

    def reloading(self) -> None:
        """A reload begins; :meth:`ready` ends it."""
        self.notify(
            "RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}", "STATUS=reloading"
        )

    def stopping(self) -> None:
        """Shutting down."""
        self.notify("STOPPING=1", "STATUS=stopping")

    def watchdog(self) -> None:
        """Alive: the loop and the database answered."""
        self.notify("WATCHDOG=1")
