"""Admin pages next to the agent workspace: ``/admin/review`` and ``/admin/dashboard``.

Protected by ``feedback.admin_token``. Open ``/admin/review?token=...`` once: the token is
exchanged for a server-side admin session (HttpOnly, SameSite=Strict cookie, expiring like an
agent's, ended by ``POST /admin/logout``) and removed from the address bar. Scripts send
``Authorization: Bearer <token>`` instead. Without a configured token the pages answer 403 and
say how to set one.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from bot.feedback.analytics import build_report, parse_since
from bot.feedback.candidates import Candidate
from bot.feedback.redact import personal_data_kinds
from bot.feedback.report_html import render_report
from bot.feedback.review import ReviewError
from bot.handoff.auth import StaffLogin, StaffSessions
from bot.middlewares import read_form
from bot.proxies import TrustedProxies
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
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:24px;max-width:980px}}
.card{{border:1px solid #e5e7eb;border-radius:8px;padding:12px;margin:12px 0}}
textarea{{width:100%;font:inherit}}.muted{{color:#6b7280}}.warn{{color:#b45309}}
.note{{background:#ecfdf5;padding:8px;border-radius:6px}}</style></head><body>
<nav><a href="/admin/review">Review</a> · <a href="/admin/dashboard">Dashboard</a></nav>
{body}</body></html>"""


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
        login = await self._login(request)
        if login is not None:
            return login
        refused = await self._check(request)
        if refused is not None:
            return refused
        pending = await self._service.review.pending()
        csrf = await self._csrf(request)
        notice = request.query.get("done", "")
        body = [_logout_form(csrf), f"<h1>Candidate answers ({len(pending)} pending)</h1>"]
        if notice:
            body.append(f"<p class='note'>{escape(notice)}</p>")
        if not pending:
            body.append("<p class='muted'>Nothing to review.</p>")
        body.extend(_candidate_card(candidate, csrf) for candidate in pending)
        return _html("Review", "".join(body))

    async def approve(self, request: web.Request) -> web.StreamResponse:
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
            )
        except ReviewError as error:
            return _done(request, f"#{candidate_id} not approved: {error.code} {error.detail}")
        return _done(request, f"#{candidate_id} approved as FAQ {approved.faq_id}.")

    async def reject(self, request: web.Request) -> web.StreamResponse:
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
        report = await build_report(
            self._service.store,
            since=since,
            zone=zone,
            top=settings.report_top,
            gap_distance=settings.gap_cluster_distance,
            embed=self._service.embed,
        )
        if request.query.get("format") == "json":
            return web.json_response(report.to_json())
        nav = (
            "<nav><a href='/admin/review'>Review</a> · "
            "<a href='/admin/dashboard'>Dashboard</a></nav>"
        ) + _logout_form(await self._csrf(request))
        return web.Response(
            text=render_report(report, title="Kefu dashboard", nav=nav), content_type="text/html"
        )


def _logout_form(csrf: str) -> str:
    """Ends the admin session (none to end when the page was opened with a bearer token)."""
    if not csrf:
        return ""
    return (
        "<form method='post' action='/admin/logout' style='float:right'>"
        f"<input type='hidden' name='csrf' value='{escape(csrf)}'><button>Log out</button></form>"
    )


def _candidate_card(candidate: Candidate, csrf: str) -> str:
    context = "".join(
        f"<div class='muted'>{escape(turn['role'])}: {escape(str(turn['content']))}</div>"
        for turn in candidate.context
    )
    kinds = personal_data_kinds(f"{candidate.question}\n{candidate.answer}")
    warning = (
        f"<p class='warn'>⚠ May contain personal data ({escape(', '.join(sorted(kinds)))}): "
        "edit it out before approving.</p>"
        if kinds
        else ""
    )
    hidden = f"<input type='hidden' name='csrf' value='{csrf}'>"
    return (
        f"<div class='card' id='c{candidate.id}'><b>#{candidate.id}</b> "
        f"<span class='muted'>{escape(candidate.trigger)} · {escape(candidate.language)} · "
        f"asked {candidate.asked_at:%Y-%m-%d %H:%M} · {escape(candidate.conversation_key)}</span>"
        f"{context}{warning}"
        f"<form method='post' action='/admin/review/{candidate.id}/approve'>{hidden}"
        f"<label>Question<textarea name='question' rows='2'>{escape(candidate.question)}"
        f"</textarea></label><label>Answer<textarea name='answer' rows='4'>"
        f"{escape(candidate.answer)}</textarea></label>"
        "<button>Approve → FAQ</button></form>"
        f"<form method='post' action='/admin/review/{candidate.id}/reject'>{hidden}"
        "<input name='reason' placeholder='Reason for rejecting' required> "
        "<button>Reject</button></form></div>"
    )


def _field(form: object, name: str) -> str | None:
    value = form.get(name) if hasattr(form, "get") else None
    return value if isinstance(value, str) else None


def _html(title: str, body: str) -> web.Response:
    return web.Response(text=_PAGE.format(title=escape(title), body=body), content_type="text/html")


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _done(request: web.Request, message: str) -> web.Response:
    """Back to the list (POST-redirect-GET), saying what happened."""
    return _see_other(f"/admin/review?{urlencode({'done': message})}")
