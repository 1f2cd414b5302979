"""A raw TCP server on loopback for the HTTP client tests: each accepted connection served by
a function in a thread of its own."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def accepting(
    serve: Callable[[socket.socket, int], None],
    accepted: Callable[[int], None] = lambda _number: None,
) -> Iterator[int]:
    """Listen on a free loopback port (yielded) and call `serve(conn, connection number)` in a
    thread for each connection, numbered from 0, until the block ends; `accepted(number)` is
    called first, in turn, before that connection's thread starts."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def accept() -> None:
        number = 0
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted(number)
            threading.Thread(target=serve, args=(conn, number), daemon=True).start()
            number += 1

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
