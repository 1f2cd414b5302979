"""`orderhub serve`: the HTTP API."""

from __future__ import annotations

from orderhub.cli.serving import ServerOptions, fail, server_command


@server_command
def serve(options: ServerOptions) -> None:
    """Serve the HTTP API (Ctrl-C or SIGTERM stops it)."""
    # uvicorn shuts down gracefully, then the command returns: exit 0
    started = options.start()
    if started is None:
        return  # stopped while migrating
    signals, server = started
    if not server.run() and not signals.received:
        raise fail("the server did not start (see the log above)")
