"""One in-process HTTP server of the local stack (the token endpoint, the web page): bound on
127.0.0.1, served by a thread of the process that owns the stack, stopped with every thread
joined."""

from __future__ import annotations

import errno
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Generic, TypeVar

from infra.local.processes import PortInUse

HOST = "127.0.0.1"
S = TypeVar("S", bound=ThreadingHTTPServer)


class ServedInThread(Generic[S]):
    """``what`` (for messages) on ``port`` (0: the OS picks one; ``env_var`` names the
    variable that moves it). :meth:`bind` makes the server (:class:`PortInUse` if the port
    is taken) for the caller to configure, :meth:`serve` starts its thread, :meth:`stop`
    releases the port (idempotent)."""

    def __init__(self, what: str, env_var: str, port: int) -> None:
        self.what, self.env_var, self.requested_port = what, env_var, port
        self.server: S | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self.server is None:
            raise RuntimeError(f"{self.what} is not started")
        return int(self.server.server_address[1])

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def bind(self, server_class: type[S], handler: type[BaseHTTPRequestHandler]) -> S:
        if self.server is not None:
            raise RuntimeError(f"{self.what} was already started")
        try:
            self.server = server_class((HOST, self.requested_port), handler)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(HOST, self.requested_port, self.what, self.env_var) from exc
            raise
        return self.server

    def serve(self, thread_name: str) -> None:
        if self.server is None:
            raise RuntimeError(f"{self.what}: bind() first")
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, name=thread_name, daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self.server, self._thread
        if server is None or thread is None:
            return
        self._thread = None
        if thread.is_alive():
            server.shutdown()  # returns once serve_forever has left its loop
        server.server_close()  # closes the socket, joins the request threads
        thread.join(timeout)
