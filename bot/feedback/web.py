"""Admin pages next to the agent workspace: ``/admin/review`` and ``/admin/dashboard``.

Protected by ``feedback.admin_token``. Open ``/admin/review?token=...`` once: the token is
exchanged for a server-side admin session (HttpOnly, SameSite=Strict cookie, expiring like an
agent's, ended by ``POST /admin/logout``) and removed from the address bar. Scripts send
``Authorization: Bearer <token>`` instead. Without a configured token the pages answer 403 and
say how to set one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from bot.feedback.analytics import build_report, parse_since
from bot.feedback.candidates import Candidate
from bot.feedback.models import CandidateStatus
from bot.feedback.redact import personal_data_kinds
from bot.feedback.report_html import render_report
from bot.feedback.review import ReviewError
from bot.handoff.auth import StaffLogin, StaffSessions
from bot.middlewares import read_form
from bot.proxies import TrustedProxies
from bot.staff.i18n import choose_language, remember_language
from bot.staff.render import page_response
from core.telemetry.llm_records import LLMCallStore
from core.telemetry.llm_report import compare_models
from core.untrusted import parse_id, same_secret

if TYPE_CHECKING:
    from bot.feedback.service import FeedbackService

log = structlog.get_logger(__name__)

COOKIE = "kefu_admin"
NOT_CONFIGURED = (
    "The admin pages are off because no admin token is set. Set KEFU_FEEDBACK__ADMIN_TOKEN "
    "(or admin_token under [feedback] in kefu.toml), restart, and open "
    "/admin/review?token=<your token>."
)


def admin_routes(
    service: FeedbackService, sessions: StaffSessions, proxies: TrustedProxies
) -> list[web.RouteDef]:
    pages = _AdminPages(service, sessions, proxies)
    return [
        web.post("/admin/logout", pages.logout),
        web.get("/admin/review", pages.review),
        web.post("/admin/review/{candidate_id:\\d+}/approve", pages.approve),
        web.post("/admin/review/{candidate_id:\\d+}/reject", pages.reject),
        web.get("/admin/dashboard", pages.dashboard),
    ]


class _AdminPages:
    def __init__(
        self, service: FeedbackService, sessions: StaffSessions, proxies: TrustedProxies
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._proxies = proxies

    def _token(self) -> str | None:
        secret = self._service.settings.admin_token
        value = secret.get_secret_value() if secret else ""
        return value or None

    async def _signed_in(self, request: web.Request) -> StaffLogin | None:
        return await self._sessions.check(request.cookies.get(COOKIE), "admin")

    async def _check(
        self, request: web.Request, form_csrf: str | None = None
    ) -> web.Response | None:
        """None when the request may proceed, else the response refusing it."""
        token = self._token()
        if token is None:
            return web.Response(status=403, text=NOT_CONFIGURED)
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and same_secret(bearer.strip(), token):
            return None
        login = await self._signed_in(request)
        # A form post also needs the page's CSRF field: the cookie alone is sent by any site.
        if login is not None and (
            request.method == "GET" or self._sessions.csrf_ok(login, form_csrf)
        ):
            return None
        log.warning("feedback.admin.refused", path=request.path[:100])
        return web.Response(status=401, text="Admin token required.")

    async def _login(self, request: web.Request) -> web.Response | None:
        """Swaps ``?token=`` for a session cookie and a clean address."""
        token = self._token()
        given = request.query.get("token")
        if token is None or given is None:
            return None
        if not same_secret(given, token):
            log.warning("feedback.admin.login_failed")
            return web.Response(status=401, text="Wrong admin token.")
        response = _see_other(request.path)
        response.set_cookie(
            COOKIE,
            await self._sessions.open("admin", "admin"),
            httponly=True,
            samesite="Strict",
            secure=self._proxies.is_https(request),
            path="/admin",
            max_age=self._sessions.lifetime_s,
        )
        log.info("feedback.admin.login")
        return response

    async def _csrf(self, request: web.Request) -> str:
        login = await self._signed_in(request)
        return self._sessions.csrf_token(login) if login is not None else ""

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """Ends the admin session on the server (form: csrf); the cookie stops working."""
        form = await read_form(request)
        refused = await self._check(request, _field(form, "csrf"))
        if refused is not None:
            return refused
        login = await self._signed_in(request)
        if login is not None:
            await self._sessions.revoke(login)
        response = web.Response(text="Logged out. / 已退出。")
        response.del_cookie(COOKIE, path="/admin")
        return response

    async def review(self, request: web.Request) -> web.StreamResponse:
        """The review page: candidate answers to approve into the FAQ or reject.

        Admin token as ``?token=`` (once, swapped for a session cookie) or a Bearer header.
        """
        login = await self._login(request)
        if login is not None:
            return login
        refused = await self._check(request)
        if refused is not None:
            return refused
        pending = await self._service.review.pending()
        csrf = await self._csrf(request)
        return page_response(
            request,
            "review.html",
            timezone=self._service.settings.timezone,
            candidates=[_candidate_view(candidate) for candidate in pending],
            csrf=csrf,
            logout_csrf=csrf,
            notice=request.query.get("done", ""),
        )

    async def approve(self, request: web.Request) -> web.StreamResponse:
        """Approves a candidate (form: csrf, question, answer, alternative_of) as a live FAQ
        entry, or as another way to ask an existing one."""
        form = await read_form(request)
        refused = await self._check(request, _field(form, "csrf"))
        if refused is not None:
            return refused
        candidate_id = parse_id(request.match_info["candidate_id"]) or 0
        try:
            approved = await self._service.review.approve(
                candidate_id,
                "admin-page",
                question=_field(form, "question"),
                answer=_field(form, "answer"),
                alternative_of=_field(form, "alternative_of"),
            )
        except ReviewError as error:
            return _done(request, f"#{candidate_id} not approved: {error.code} {error.detail}")
        return _done(request, f"#{candidate_id} approved as FAQ {approved.faq_id}.")

    async def reject(self, request: web.Request) -> web.StreamResponse:
        """Rejects a candidate (form: csrf, reason)."""
        form = await read_form(request)
        refused = await self._check(request, _field(form, "csrf"))
        if refused is not None:
            return refused
        candidate_id = parse_id(request.match_info["candidate_id"]) or 0
        try:
            await self._service.review.reject(
                candidate_id, "admin-page", _field(form, "reason") or ""
            )
        except ReviewError as error:
            return _done(request, f"#{candidate_id} not rejected: {error.code}")
        return _done(request, f"#{candidate_id} rejected.")

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        """The support dashboard (``?since=YYYY-MM-DD``, ``?format=json``), models compared."""
        login = await self._login(request)
        if login is not None:
            return login
        refused = await self._check(request)
        if refused is not None:
            return refused
        settings = self._service.settings
        zone = ZoneInfo(settings.timezone)
        try:
            since = parse_since(request.query.get("since"), zone)
        except ValueError:
            return web.Response(status=400, text="since must be a date: YYYY-MM-DD")
        approved = await self._service.candidates.find(CandidateStatus.APPROVED)
        report = await build_report(
            self._service.store,
            since=since,
            zone=zone,
            top=settings.report_top,
            gap_distance=settings.gap_cluster_distance,
            embed=self._service.embed,
            answered=[c.question for c in approved],
            answered_events=[c.question_event_id for c in approved],
        )
        models = compare_models(await LLMCallStore(self._service.database).since(since))
        if request.query.get("format") == "json":
            return web.json_response(
                {**report.to_json(), "models": [row.to_json() for row in models]}
            )
        html = render_report(
            report,
            language=choose_language(request),
            models=models,
            page="dashboard.html",
            path=request.path,
            logout_csrf=await self._csrf(request),
        )
        response = web.Response(text=html, content_type="text/html")
        remember_language(request, response)
        return response


def _candidate_view(candidate: Candidate) -> dict[str, Any]:
    """What the review template shows of one candidate (personal data kinds flagged)."""
    kinds = personal_data_kinds(f"{candidate.question}\n{candidate.answer}")
    return {
        "id": candidate.id,
        "trigger": candidate.trigger,
        "faq_id": candidate.faq_id,
        "language": candidate.language,
        "asked_at": candidate.asked_at,
        "conversation_key": candidate.conversation_key,
        "context": [
            {"role": str(turn["role"]), "content": str(turn["content"])}
            for turn in candidate.context
        ],
        "personal_data": ", ".join(sorted(kinds)),
        "question": candidate.question,
        "answer": candidate.answer,
    }


def _field(form: object, name: str) -> str | None:
    value = form.get(name) if hasattr(form, "get") else None
    return value if isinstance(value, str) else None


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _done(request: web.Request, message: str) -> web.Response:
    """Back to the list (POST-redirect-GET), saying what happened."""
    return _see_other(f"/admin/review?{urlencode({'done': message})}")
