"""Run a WSGI app on 127.0.0.1 on a free port, in a daemon thread, in-process.

cheroot (CherryPy's HTTP server) keeps a client's connection open between requests, as real
APIs do, and serves them from a fixed pool of threads. Werkzeug's development server closes
every connection after one answer ("Connection: close"), so each request cost a new TCP
connection on both sides and a new server thread: more than most requests' own work."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import orjson
from cheroot.wsgi import Server
from werkzeug.wrappers import Request

THREADS = 16        # requests served at once: a run's parallel stages and their chunks in flight
IDLE_SECONDS = 300  # a kept-alive connection idle this long is closed (clients open a new one)


@dataclass
class RunningServer:
    url: str
    server: Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=5)


def serve(app, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    server = Server((host, port), _slashes_decoded(app), numthreads=THREADS, timeout=IDLE_SECONDS,
                    server_name="cumplido-sandbox")
    _in_daemon_thread(server.prepare)   # binds now, so the port is known; its workers are daemons too
    bound = server.bind_addr[1]
    thread = threading.Thread(target=server.serve, name=f"sandbox:{bound}", daemon=True)
    thread.start()
    return RunningServer(url=f"http://{host}:{bound}", server=server, thread=thread)


def _slashes_decoded(app):
    """cheroot leaves %2F encoded in PATH_INFO, where PEP 3333 and the vendors' own servers
    decode it: an id holding slashes (a Shopify gid as a reference) reaches the app as sent."""

    def decoded(environ, start_response):
        environ["PATH_INFO"] = environ["PATH_INFO"].replace("%2F", "/").replace("%2f", "/")
        return app(environ, start_response)

    return decoded


def _in_daemon_thread(call) -> None:
    """Run `call` in a daemon thread and wait for it. The threads it starts inherit the daemon
    flag, so a server nobody stopped never keeps the interpreter from exiting."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:   # re-raised in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def request_json(request: Request) -> Any:
    """What Request.get_json(silent=True) answers (the body parsed, or None when it is not JSON or
    does not parse), parsed by orjson: the standard decoder was a tenth of a carrier's time."""
    if not request.is_json:
        return None
    try:
        return orjson.loads(request.get_data())
    except orjson.JSONDecodeError:
        return None
