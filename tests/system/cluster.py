"""Real processes for system tests and benchmarks: a Chroma server and N ``kefu serve`` workers.

Every process runs in its own process group, so stopping it also stops anything it started;
:meth:`Cluster.stop` and :meth:`ChromaServer.stop` are safe to call on any path (also after a
failed start). Workers share what several workers must share (the PostgreSQL URL, the Chroma
server, the agent session secret, the knowledge sources) and each has its own data directory,
port and log file.

    async with ChromaServer(tmp / "chroma") as chroma:
        cluster = Cluster(tmp / "workers", shared_env(database_url, chroma.url))
        try:
            a, b = await cluster.start(2)
            await a.say("ann", "How long is the warranty?")
        finally:
            await cluster.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from tests.fakes.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SESSION_SECRET = "system-test-session-secret-0123456789abcdef"
API_TOKEN = "system-test-rest-api-token-0123456789"
"""``web.api_token``: server-to-server REST and web chat that name their own ``sender``."""
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
READY_TIMEOUT_S = 90.0
CHROMA_RUN = (str(VENV_BIN / "chroma"), "run", "--host", "127.0.0.1")
KEFU_SERVE = (sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1")


def _stop_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> int:
    """Signals the process group of ``process`` and reaps it; returns its exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.wait(10)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ChromaServer:
    """``chroma run`` on a free loopback port with its data in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.log = path.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout_s: float = 60.0) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*CHROMA_RUN, "--path", str(self.path), "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"chroma run exited:\n{_tail(self.log)}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/api/v2/heartbeat") as response:
                        if response.status == 200:
                            return self.url
                await asyncio.sleep(0.1)
        await self.stop()
        raise TimeoutError(f"chroma run did not answer its heartbeat:\n{_tail(self.log)}")

    async def stop(self) -> None:
        if self.process is not None:
            await asyncio.to_thread(_stop_group, self.process, signal.SIGTERM)
            self.process = None

    async def __aenter__(self) -> ChromaServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def shared_env(
    database_url: str, chroma_url: str | None, *, embedder: str = "hashing"
) -> dict[str, str]:
    """Settings every worker of one deployment shares (see README "Running several workers")."""
    env = {
        "KEFU_STORAGE__DATABASE_URL": database_url,
        "KEFU_KNOWLEDGE__EMBEDDER": embedder,
        "KEFU_HANDOFF__SESSION_SECRET": SESSION_SECRET,
        "KEFU_WEB__API_TOKEN": API_TOKEN,
        "KEFU_HANDOFF__HOURS__ALWAYS_OPEN": "true",
        "KEFU_RATE_LIMIT_PER_MINUTE": "0",
        "KEFU_LOGGING__LEVEL": "INFO",
        "ANONYMIZED_TELEMETRY": "False",
    }
    if chroma_url:
        env["KEFU_KNOWLEDGE__CHROMA_URL"] = chroma_url
    return env


class Worker:
    """One ``kefu serve`` process; keeps its port and data directory across restarts."""

    def __init__(self, name: str, data_dir: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.data_dir = data_dir
        self.port = free_port()
        self.env = dict(env)
        self.log = data_dir.parent / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Starts the process (does not wait; see :meth:`wait_ready`)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        env.update(self.env)
        env["KEFU_DATA_DIR"] = str(self.data_dir)
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n===== start {self.starts} of {self.name} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*KEFU_SERVE, "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Waits until ``GET /readyz`` answers 200 (``/healthz`` while main has no /readyz).

        Returns:
            Seconds waited.

        Raises:
            RuntimeError: the process exited meanwhile.
            TimeoutError: not ready in time.
        """
        started = time.monotonic()
        deadline = started + timeout_s
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    code = None if self.process is None else self.process.returncode
                    raise RuntimeError(f"{self.name} exited ({code}):\n{self.log_tail()}")
                if await self._ready(http):
                    return time.monotonic() - started
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout_s} s:\n{self.log_tail()}")

    async def _ready(self, http: aiohttp.ClientSession) -> bool:
        try:
            async with http.get(f"{self.url}/readyz") as response:
                if response.status != 404:
                    return response.status == 200
            async with http.get(f"{self.url}/healthz") as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def kill(self) -> int:
        """``kill -9`` (the whole process group); returns the exit code."""
        return await self._signal(signal.SIGKILL)

    async def terminate(self, timeout_s: float = 40.0) -> int:
        """SIGTERM to the server process only (as a process manager does) and wait for it.

        Raises:
            TimeoutError: still running after ``timeout_s`` (then it is killed).
        """
        assert self.process is not None
        process = self.process
        process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(process.wait, timeout_s)
        except subprocess.TimeoutExpired as error:
            await self.kill()
            raise TimeoutError(f"{self.name} ignored SIGTERM for {timeout_s} s") from error
        await asyncio.to_thread(_stop_group, process)  # anything it left behind
        self.process = None
        return code

    async def restart(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        if self.running:
            await self.kill()
        self.start()
        await self.wait_ready(timeout_s)

    async def _signal(self, sig: int) -> int:
        if self.process is None:
            return 0
        code = await asyncio.to_thread(_stop_group, self.process, sig)
        self.process = None
        return code

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log, lines)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # --- talking to it --------------------------------------------------------------------

    async def say(
        self,
        http: aiohttp.ClientSession,
        sender: str,
        text: str,
        *,
        message_id: str | None = None,
        timeout_s: float = 30.0,
    ) -> list[dict[str, Any]]:
        """One REST message; returns the bot's messages (raises on a non-200 answer)."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if message_id is not None:
            body["message_id"] = message_id
        async with http.post(
            f"{self.url}/webhooks/rest/webhook",
            json=body,
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            payload = await response.json(content_type=None)
            if response.status != 200:
                raise AssertionError(f"{self.name} answered {response.status}: {payload}")
            assert isinstance(payload, list), payload
            return payload


class Cluster:
    """N workers of one deployment; :meth:`stop` stops every process it ever started."""

    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = dict(env)
        self.workers: list[Worker] = []

    def add(self, extra_env: Mapping[str, str] | None = None) -> Worker:
        name = (
            "abcdefghij"[len(self.workers)] if len(self.workers) < 10 else f"w{len(self.workers)}"
        )
        worker = Worker(name, self.root / name / "data", {**self.env, **(extra_env or {})})
        self.workers.append(worker)
        return worker

    async def start(
        self,
        count: int,
        extra_env: Mapping[str, str] | None = None,
        timeout_s: float = READY_TIMEOUT_S,
        *,
        at_once: bool = False,
    ) -> list[Worker]:
        """Adds ``count`` workers and waits until each is ready.

        Args:
            at_once: start them all at the same moment (the cold-start race); by default the
                first one prepares an empty deployment (migrations, seeding, first ingest)
                alone, then the others start together.
        """
        workers = [self.add(extra_env) for _ in range(count)]
        groups = [workers] if at_once else [workers[:1], workers[1:]]
        for group in groups:
            for worker in group:
                worker.start()
            await asyncio.gather(*(worker.wait_ready(timeout_s) for worker in group))
        return workers

    async def stop(self) -> None:
        """Kills every worker (process groups); never raises."""
        for worker in self.workers:
            with contextlib.suppress(Exception):
                await worker.kill()

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- {w.name} ({w.url}) ---\n{w.log_tail(lines)}" for w in self.workers)


async def wait_until(condition: Any, timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    """Polls ``condition()`` (sync or async) until it is true.

    Raises:
        AssertionError: not true within ``timeout_s``, naming ``what``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(interval_s)


def texts(messages: Sequence[dict[str, Any]]) -> list[str]:
    return [str(m.get("text", "")) for m in messages]
