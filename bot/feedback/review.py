"""Reviewing candidate gold answers: approve into the knowledge base, or reject with a reason."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import replace

import structlog

from bot.feedback.candidates import REPHRASING, Candidate, CandidateScanner, CandidateStore
from bot.feedback.models import CandidateStatus
from core.errors import InputError

log = structlog.get_logger(__name__)

AddFaq = Callable[[str, str], str] | Callable[[str, str], Awaitable[str]]
"""Adds an FAQ entry (question, answer) that is retrievable at once; returns its id.
``KnowledgeBase.add_faq`` fits (it is synchronous and runs in a worker thread)."""
AddAlternative = Callable[[str, str, str], str]
"""Adds a phrasing (entry id, phrasing, origin) to an FAQ entry; returns the entry's id.
``KnowledgeBase.add_alternative`` fits (synchronous, run in a worker thread)."""


class ReviewError(InputError):
    """A review action that cannot be done as asked.

    ``code`` says why, for a message in the reviewer's language: ``not_found``,
    ``already_reviewed``, ``reason_required``, ``empty`` or ``faq_failed``.
    """

    def __init__(self, code: str, candidate_id: int, detail: str = "") -> None:
        super().__init__(f"candidate {candidate_id}: {code}{': ' + detail if detail else ''}")
        self.code = code
        self.candidate_id = candidate_id
        self.detail = detail


class Review:
    """The review list and its two decisions, shared by the channel commands and the web page.

    Args:
        candidates: where candidates are stored.
        scanner: finds new candidates in the event log before the list is shown.
        add_faq: turns an approved pair into a live FAQ entry.
        add_alternative: teaches an FAQ entry the customer's wording (approved rephrasings,
            and corrections approved as another way of asking an existing entry).
    """

    def __init__(
        self,
        candidates: CandidateStore,
        scanner: CandidateScanner,
        add_faq: AddFaq,
        add_alternative: AddAlternative | None = None,
    ) -> None:
        self._candidates = candidates
        self._scanner = scanner
        self._add_faq = add_faq
        self._add_alternative = add_alternative

    async def pending(self, limit: int | None = None) -> list[Candidate]:
        """Pending candidates, oldest first, after scanning the log for new ones."""
        await self._scanner.scan()
        return await self._candidates.find(CandidateStatus.PENDING, limit=limit)

    async def approve(
        self,
        candidate_id: int,
        reviewer: str,
        *,
        question: str | None = None,
        answer: str | None = None,
        alternative_of: str | None = None,
    ) -> Candidate:
        """Approves a pending candidate, optionally edited, into the knowledge base.

        A new FAQ entry, or, for a 👍-confirmed rephrasing (its entry) or when
        ``alternative_of`` names an existing entry (its id or question), the customer's
        question becomes another way of asking that entry. The approved pair is also exported
        as a dataset example from then on.

        Raises:
            ReviewError: when the candidate is missing, already reviewed, edited to nothing,
                or the knowledge base refused the entry (the candidate then stays pending).
        """
        current = await self._pending(candidate_id)
        question = (question or current.question).strip()
        answer = (answer or current.answer).strip()
        if not question or not answer:
            raise ReviewError("empty", candidate_id)
        approved = await self._candidates.review(
            candidate_id, CandidateStatus.APPROVED, reviewer, question=question, answer=answer
        )
        if approved is None:
            raise ReviewError("already_reviewed", candidate_id)
        target = alternative_of.strip() if alternative_of and alternative_of.strip() else None
        if target is None and current.trigger == REPHRASING:
            target = current.faq_id
        try:
            if target is not None:
                faq_id = await self._call_add_alternative(target, question)
            else:
                faq_id = await self._call_add_faq(question, answer)
        except Exception as error:
            await self._candidates.update(
                candidate_id, status=CandidateStatus.PENDING.value, reviewer=None, reviewed_at=None
            )
            log.exception("feedback.review.faq_failed", candidate=candidate_id)
            raise ReviewError("faq_failed", candidate_id, str(error)) from error
        await self._candidates.update(candidate_id, faq_id=faq_id)
        log.info("feedback.review.approved", candidate=candidate_id, faq_id=faq_id)
        return replace(approved, faq_id=faq_id)

    async def reject(self, candidate_id: int, reviewer: str, reason: str) -> Candidate:
        """Rejects a pending candidate; it is archived with the reason, never exported.

        Raises:
            ReviewError: when the reason is empty or the candidate is missing or reviewed.
        """
        if not reason.strip():
            raise ReviewError("reason_required", candidate_id)
        await self._pending(candidate_id)
        rejected = await self._candidates.review(
            candidate_id, CandidateStatus.REJECTED, reviewer, reason=reason.strip()
        )
        if rejected is None:
            raise ReviewError("already_reviewed", candidate_id)
        log.info("feedback.review.rejected", candidate=candidate_id)
        return rejected

    async def _pending(self, candidate_id: int) -> Candidate:
        candidate = await self._candidates.get(candidate_id)
        if candidate is None:
            raise ReviewError("not_found", candidate_id)
        if candidate.status is not CandidateStatus.PENDING:
            raise ReviewError("already_reviewed", candidate_id, candidate.status.value)
        return candidate

    async def _call_add_alternative(self, entry: str, phrasing: str) -> str:
        if self._add_alternative is None:
            raise InputError("this review cannot add alternative phrasings")
        return str(await asyncio.to_thread(self._add_alternative, entry, phrasing, "review"))

    async def _call_add_faq(self, question: str, answer: str) -> str:
        if inspect.iscoroutinefunction(self._add_faq):
            return str(await self._add_faq(question, answer))
        result = await asyncio.to_thread(self._add_faq, question, answer)
        if inspect.isawaitable(result):
            result = await result
        return str(result)
