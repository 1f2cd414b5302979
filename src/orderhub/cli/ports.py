"""Is the port free? Asked before a server migrates, starts a sandbox or a sync."""

from __future__ import annotations

import errno
import socket

#: The exit code of a command that cannot listen on its address (docs/operations.md).
EXIT_PORT_UNAVAILABLE = 3


class PortUnavailable(Exception):
    """The server cannot listen on the address it was given."""

    exit_code = EXIT_PORT_UNAVAILABLE


class PortInUse(PortUnavailable):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} on {host} is already in use")


def check_port_free(host: str, port: int) -> None:
    """Bind the address the way uvicorn will (SO_REUSEADDR), then let it go; raise
    `PortInUse` when something listens there, `PortUnavailable` for any other refusal."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(host, port) from None
            reason = exc.strerror or str(exc)
            raise PortUnavailable(f"cannot listen on {host} port {port}: {reason}") from None
