"""A throwaway Redis server for tests: Debian's redis-server on a free loopback port, nothing saved, stopped at the
end."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from ensure import ensure
from pg import free_port


class RedisUnavailable(RuntimeError):
    """redis-server could not be found or installed, or did not start."""


@dataclass
class RedisServer:
    """A redis-server process listening on 127.0.0.1:`port`, its log in `root`."""

    process: subprocess.Popen[bytes]
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def log_tail(self, lines: int = 30) -> str:
        log = self.root / "log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        try:
            self.process.terminate()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def ensure_redis() -> str:
    """The redis-server path, from scripts/ensure-redis (which installs it when root)."""
    return ensure("ensure-redis", RedisUnavailable)


def start_redis(timeout: float = 20) -> RedisServer:
    """A running server with no persistence; raises RedisUnavailable (with its log) if it does not answer."""
    binary = ensure_redis()
    root = Path(tempfile.mkdtemp(prefix="xiaoer-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(root), "--logfile", str(root / "log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(process, root, port)
    deadline = time.monotonic() + timeout
    while True:
        try:
            redis.Redis.from_url(server.url).ping()
            return server
        except redis.ConnectionError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                log = server.log_tail()
                server.stop()
                raise RedisUnavailable(f"redis-server on port {port} did not answer: {exc}\n{log}") from exc
            time.sleep(0.05)
