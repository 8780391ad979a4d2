"""A real `prefect server` for the bench, in its own process with its own PREFECT_HOME, so
flow and task runs are orchestrated (and counted) exactly as in production."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

STARTUP_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrefectServer:
    """`with PrefectServer(home) as server:` — server.env holds PREFECT_API_URL and friends."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.home / "server.log"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def env(self) -> dict[str, str]:
        return {"PREFECT_HOME": str(self.home), "PREFECT_API_URL": self.api_url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}

    def __enter__(self) -> "PrefectServer":
        shutil.rmtree(self.home, ignore_errors=True)      # a fresh server database every time
        self.home.mkdir(parents=True)
        prefect = Path(sys.executable).with_name("prefect")
        env = {**os.environ, **self.env}
        env.pop("PREFECT_API_URL")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([str(prefect), "server", "start", "--host", "127.0.0.1",
                                          "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with {self.proc.returncode}; see {self.log}")
            try:
                if requests.get(f"{self.api_url}/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"prefect server did not answer on {self.api_url} within {STARTUP_TIMEOUT:.0f}s; "
                           f"see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
