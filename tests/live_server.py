"""Run the real ``b12 serve`` in a child process for browser, scale-out and load tests.

``LiveServer(db_url).start()`` picks a free loopback port, starts ``b12 serve`` with
``B12_DATABASE_URL`` set, waits for ``/health`` and stops the process (and its children) on
``stop()``.  ``add_user`` and ``create_token`` go through the real CLI.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def b12_command(*args: str) -> list[str]:
    """The b12 CLI of this interpreter's environment."""
    return [sys.executable, "-m", "b12.entrypoints.cli", *args]


def run_cli(db_url: str, *args: str, stdin: str | None = None) -> str:
    """Run a b12 command against ``db_url``; raise with its output if it fails."""
    env = {**os.environ, "B12_DATABASE_URL": db_url}
    done = subprocess.run(
        b12_command(*args), input=stdin, capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"b12 {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def add_user(db_url: str, username: str, role: str, password: str) -> None:
    """Create a user with the real CLI (password on standard input)."""
    run_cli(
        db_url,
        "user",
        "add",
        "--username",
        username,
        "--role",
        role,
        "--password-stdin",
        stdin=password + "\n",
    )


def create_token(db_url: str, username: str) -> str:
    """A new API token for ``username`` (the CLI prints it as its last line)."""
    return run_cli(db_url, "token", "create", "--user", username).strip().splitlines()[-1]


class LiveServer:
    """``b12 serve`` on a free port, as a context manager."""

    def __init__(
        self, db_url: str, *, extra_env: dict[str, str] | None = None, workers: int = 1
    ) -> None:
        self.db_url = db_url
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def _workers(self) -> tuple[str, ...]:
        # always explicit: ``b12 serve`` defaults to one worker per core
        return ("--workers", str(self.workers))

    def start(self, log_path: Path | None = None, timeout: float = 30.0) -> LiveServer:
        """Start and wait until ``/health`` answers."""
        env = {**os.environ, "B12_DATABASE_URL": self.db_url, **self.extra_env}
        self.log_path = log_path
        out = log_path.open("wb") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            b12_command("serve", "--host", "127.0.0.1", "--port", str(self.port), *self._workers()),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not isinstance(out, int):
            out.close()  # the child has its own copy; ours would leak (a ResourceWarning)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"b12 serve exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("b12 serve did not answer /health in time")

    def stop(self) -> None:
        """Stop the server and everything it started."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
