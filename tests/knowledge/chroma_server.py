"""A ``chroma run`` server on 127.0.0.1 for tests: started on a free port, always stopped."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.ports import free_port

START_TIMEOUT_S = 30.0


@dataclass(slots=True)
class ChromaServer:
    url: str
    process: subprocess.Popen[bytes]

    @classmethod
    @contextlib.contextmanager
    def start(cls, path: Path) -> Iterator[ChromaServer]:
        """Runs the server with its data in ``path`` for the ``with`` block.

        Skips the test when the ``chroma`` command is not installed next to Python.
        """
        command = Path(sys.executable).parent / "chroma"
        if not command.exists():
            pytest.skip("the chroma command is not installed")
        port = free_port()
        log = (path / "server.log").open("wb")
        arguments = ["run", "--path", str(path / "data"), "--host", "127.0.0.1"]
        process = subprocess.Popen(
            [str(command), *arguments, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = cls(f"http://127.0.0.1:{port}", process)
        try:
            server.wait_ready()
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.process.returncode}")
            heartbeat = f"{self.url}/api/v2/heartbeat"
            with contextlib.suppress(OSError), urllib.request.urlopen(heartbeat, timeout=1):
                return
            time.sleep(0.1)
        raise RuntimeError("chroma run did not answer its heartbeat")
