"""Serving one local model to many customers: a queue that generates in batches.

Concurrent requests wait in an asyncio queue; a worker takes whatever is waiting (up to
``max_batch_size``) and runs one ``generate`` call for all of it in a single worker thread,
so the event loop stays free and no two calls ever touch the model at once. Requests that
arrive while a batch runs go into the next one (static batching; continuous batching is what
vLLM behind the openai backend is for).

Each request streams its own text through :class:`BatchStreamer`, which decodes each row
incrementally, stops a row at one of the stop tokens or its own token limit, and hands
pieces to the request's asyncio queue from the generation thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog

from core.errors import LLMError
from core.llm.base import FinishReason

log = structlog.get_logger(__name__)

_END = object()
"""Queue marker: the row is finished."""


@dataclass(eq=False)
class GenerationJob:
    """One customer's request in the queue."""

    prompt_ids: list[int]
    max_new_tokens: int
    loop: asyncio.AbstractEventLoop
    tokens: list[int] = field(default_factory=list)
    finish_reason: FinishReason = "length"
    cancelled: threading.Event = field(default_factory=threading.Event)
    _queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    _done: bool = False

    def push(self, item: object) -> None:
        """From the generation thread: hand a piece (or the end, or an error) to the caller."""
        with contextlib.suppress(RuntimeError):  # the loop closed while generating
            self.loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def finish(self) -> None:
        if not self._done:
            self._done = True
            self.push(_END)

    def fail(self, error: BaseException) -> None:
        if not self._done:
            self._done = True
            self.push(error)

    async def pieces(self, idle_timeout_s: float) -> AsyncIterator[str]:
        """Text pieces as they are generated; waiting longer than ``idle_timeout_s`` fails.

        Raises:
            LLMError: generation failed, or nothing came for ``idle_timeout_s`` seconds
                (time in the queue counts).
        """
        try:
            while True:
                try:
                    async with asyncio.timeout(idle_timeout_s):
                        item = await self._queue.get()
                except TimeoutError as e:
                    raise LLMError(f"the local model gave nothing for {idle_timeout_s:g}s") from e
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    reason = f"{type(item).__name__}: {item}"[:300]
                    raise LLMError(f"the local model failed: {reason}") from item
                yield item
        finally:
            self.cancelled.set()  # a caller that stops listening frees its row


class BatchStreamer:
    """A ``generate`` streamer for a whole batch (transformers' own streamers take one row).

    Implements transformers' ``BaseStreamer`` protocol (``put``/``end``).
    """

    def __init__(
        self,
        jobs: Sequence[GenerationJob],
        decode: Callable[[list[int]], str],
        stop_ids: set[int],
    ) -> None:
        self._jobs = jobs
        self._decode = decode
        self._stop_ids = stop_ids
        self._seen_prompt = False
        self._active = [True] * len(jobs)
        self._offsets = [(0, 0)] * len(jobs)

    def put(self, value: Any) -> None:
        """Receives the prompt once, then one new token per row per step."""
        if not self._seen_prompt:
            self._seen_prompt = True
            return
        for row, token in enumerate(value.reshape(-1).tolist()):
            if self._active[row]:
                self._take(row, int(token))

    def end(self) -> None:
        """Flushes what each row still holds back and closes every row."""
        for row, job in enumerate(self._jobs):
            prefix, read = self._offsets[row]
            if read < len(job.tokens):
                done = self._decode(job.tokens[prefix:read])
                text = self._decode(job.tokens[prefix:])
                if text[len(done) :]:
                    job.push(text[len(done) :])
            job.finish()

    def _take(self, row: int, token: int) -> None:
        job = self._jobs[row]
        if token in self._stop_ids:
            self._active[row] = False
            job.finish_reason = "stop"
            return
        job.tokens.append(token)
        self._emit(row)
        if len(job.tokens) >= job.max_new_tokens or job.cancelled.is_set():
            self._active[row] = False

    def _emit(self, row: int) -> None:
        """Incremental decoding (as in text-generation-inference): decoding a short window
        before the new token keeps leading spaces right, and text ending in an incomplete
        UTF-8 character waits for the next token."""
        job = self._jobs[row]
        prefix, read = self._offsets[row]
        done = self._decode(job.tokens[prefix:read])
        text = self._decode(job.tokens[prefix:])
        if len(text) > len(done) and not text.endswith("\ufffd"):
            job.push(text[len(done) :])
            self._offsets[row] = (read, len(job.tokens))


RunBatch = Callable[[Sequence[GenerationJob]], None]
"""Runs ``generate`` for a batch in the worker thread; must finish or fail every job."""


class BatchQueue:
    """The queue and its worker; one per loaded model."""

    def __init__(
        self,
        run_batch: RunBatch,
        *,
        max_batch_size: int,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        self._run_batch = run_batch
        self._prepare = prepare
        self.max_batch_size = max_batch_size
        """Most jobs per ``generate`` call; may be changed while running."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-llm")
        self._queue: asyncio.Queue[GenerationJob] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.batch_sizes: list[int] = []
        """Sizes of the batches run so far (for benchmarks)."""

    async def run_in_worker(self, func: Callable[[], Any]) -> Any:
        """Runs ``func`` in the generation thread (loading the model, for instance)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    def submit(self, job: GenerationJob) -> None:
        """Queues ``job``; its pieces arrive through :meth:`GenerationJob.pieces`."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._worker is None or self._worker.get_loop() is not loop:
            self._queue = asyncio.Queue()  # first use, or a new event loop (tests, restarts)
            self._worker = None
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._work(self._queue))
        self._queue.put_nowait(job)

    async def close(self) -> None:
        """Stops the worker; running jobs are cancelled and waiting ones fail."""
        if self._worker is not None and self._worker.get_loop() is asyncio.get_running_loop():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while self._queue is not None and not self._queue.empty():
            self._queue.get_nowait().fail(LLMError("the model was shut down"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _work(self, queue: asyncio.Queue[GenerationJob]) -> None:
        while True:
            batch = [await queue.get()]
            await asyncio.sleep(0)  # let requests made in the same tick join this batch
            while not queue.empty() and len(batch) < self.max_batch_size:
                batch.append(queue.get_nowait())
            batch = [job for job in batch if not job.cancelled.is_set()]
            if batch:
                await self._run(batch)

    async def _run(self, batch: list[GenerationJob]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            if self._prepare is not None:
                await self.run_in_worker(self._prepare)
            await self.run_in_worker(lambda: self._run_batch(batch))
        except asyncio.CancelledError:
            for job in batch:
                job.cancelled.set()
            raise
        except Exception as e:  # one failed batch must not stop the worker
            log.warning("llm.local.batch_failed", error=type(e).__name__, size=len(batch))
            for job in batch:
                job.fail(e)
