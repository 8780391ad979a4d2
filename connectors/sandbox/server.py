"""Run a WSGI app on 127.0.0.1 on a free port, in a daemon thread, in-process."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access log: the demo's output is for people, and tests count requests themselves.
    HTTP/1.1 keeps a client's connection open between requests, as real APIs do: a new
    connection (and a new server thread) per request cost more than most requests' work."""

    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class RunningServer:
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"sandbox:{server.port}", daemon=True)
    thread.start()
    return RunningServer(url=f"http://{host}:{server.port}", server=server, thread=thread)
