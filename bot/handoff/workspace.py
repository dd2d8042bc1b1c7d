"""The agent workspace under ``/agent``: login, live queue, conversations, WebSocket push.

Every route but the login page and the static assets needs a valid session; writes also need
the session's CSRF token (``X-CSRF-Token`` header), the WebSocket takes it as ``?csrf=``.
What an agent may see or change is decided by :class:`~bot.handoff.desk.AgentDesk`.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import WSMsgType, web

from bot.handoff.auth import LoginThrottle, StaffLogin, StaffSessions
from bot.handoff.desk import DeliveryFailed, HandoffConflict, UnknownHandoff
from bot.handoff.records import AgentRecord
from bot.middlewares import read_form
from bot.proxies import TrustedProxies
from bot.staff.pages import workspace_page
from core.config.handoff import HandoffSettings
from core.errors import InputError, PermissionDenied, StorageError
from core.storage import Database
from core.untrusted import parse_id, parse_json, same_secret

if TYPE_CHECKING:
    from bot.handoff.service import HandoffService

log = structlog.get_logger(__name__)

STATIC = Path(__file__).parent / "static"
ASSETS = {"agent.js": "application/javascript", "agent.css": "text/css"}
SESSION_COOKIE = "kefu_agent"
LOGIN_COOKIE = "kefu_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_FRAME_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
LOGIN_ERRORS = {
    "invalid": "Wrong name, password or token. / 用户名或密码错误。",
    "blocked": "Too many failed attempts; try again later. / 尝试次数过多，请稍后再试。",
}

Handler = Callable[[web.Request, AgentRecord], Awaitable[web.StreamResponse]]


@dataclass(slots=True, frozen=True)
class StaffAccess:
    """The session store, login throttle and proxy rules shared by /agent and /admin."""

    sessions: StaffSessions
    throttle: LoginThrottle
    proxies: TrustedProxies


def staff_access(
    config: HandoffSettings,
    database: Database,
    signing_key: bytes,
    proxies: TrustedProxies,
    clock: Callable[[], datetime],
) -> StaffAccess:
    """Staff sign-in as settings ``handoff`` describes it (session length, login attempts)."""
    sessions = StaffSessions(
        database, signing_key, timedelta(hours=config.session_hours), clock=clock
    )
    throttle = LoginThrottle(
        database,
        config.login_attempts,
        timedelta(minutes=config.login_window_minutes),
        clock=clock,
    )
    return StaffAccess(sessions, throttle, proxies)


class Workspace:
    """HTTP and WebSocket handlers of the agent workspace.

    Args:
        service: the handoff service (queue, agents, desk).
        access: staff sign-in (sessions, login throttle, trusted proxies).
        timezone: the team's timezone, for the times the page shows.
    """

    def __init__(self, service: HandoffService, access: StaffAccess, timezone: str) -> None:
        self._service = service
        self._desk = service.desk
        self._signer = access.sessions
        self._throttle = access.throttle
        self._proxies = access.proxies
        self._secure = service.config.secure_cookies
        self._timezone = timezone

    def routes(self) -> list[web.RouteDef]:
        """The workspace's routes, for ``app.add_routes``."""
        api = "/agent/api"
        return [
            web.get("/agent", self._page),
            web.get("/agent/", self._page),
            web.get("/agent/login", self._login_page),
            web.post("/agent/login", self._login),
            web.post("/agent/logout", self._api(self._logout, write=True)),
            web.post(f"{api}/password", self._api(self._change_password, write=True)),
            web.get("/agent/static/{name}", self._asset),
            web.get("/agent/ws", self._socket),
            web.get(f"{api}/me", self._api(self._me)),
            web.get(f"{api}/queue", self._api(self._queue)),
            web.get(f"{api}/handoffs/{{id}}", self._api(self._conversation)),
            web.post(f"{api}/handoffs/{{id}}/claim", self._api(self._claim, write=True)),
            web.post(f"{api}/handoffs/{{id}}/messages", self._api(self._reply, write=True)),
            web.post(f"{api}/handoffs/{{id}}/notes", self._api(self._note, write=True)),
            web.post(f"{api}/handoffs/{{id}}/close", self._api(self._close, write=True)),
            web.post(f"{api}/handoffs/{{id}}/release", self._api(self._release, write=True)),
        ]

    async def _signed_in(self, request: web.Request) -> tuple[AgentRecord, StaffLogin] | None:
        session = await self._signer.check(request.cookies.get(SESSION_COOKIE), "agent")
        agent_id = parse_id(session.subject) if session is not None else None
        if session is None or agent_id is None:
            return None
        agent = await self._service.agents.get(agent_id)
        if agent is None or not agent.active:
            return None
        return agent, session

    def _api(self, handler: Handler, *, write: bool = False) -> Callable[..., Any]:
        @functools.wraps(handler)  # keeps the handler's docstring for /openapi.json
        async def checked(request: web.Request) -> web.StreamResponse:
            try:
                signed_in = await self._signed_in(request)
                if signed_in is None:
                    return _error(401, "log in first")
                agent, session = signed_in
                if write and not self._signer.csrf_ok(session, request.headers.get(CSRF_HEADER)):
                    log.warning("handoff.workspace.csrf_refused", agent_id=agent.id)
                    return _error(403, "missing or wrong CSRF token")
                return await handler(request, agent)
            except PermissionDenied as e:
                return _error(403, str(e))
            except UnknownHandoff:
                return _error(404, "no such conversation")
            except HandoffConflict as e:
                return _error(409, str(e))
            except InputError as e:
                return _error(400, str(e))
            except DeliveryFailed as e:
                return _error(502, str(e))
            except StorageError:
                log.exception("handoff.workspace.storage_failed")
                return _error(503, "the database is unavailable, please retry")

        return checked

    async def _page(self, request: web.Request) -> web.StreamResponse:
        """The agent workspace page (redirects to the login page when not signed in).

        In the agent's language (``?lang=zh|en`` or the browser's Accept-Language).
        """
        if await self._signed_in(request) is None:
            return web.Response(status=302, headers={"Location": "/agent/login"})
        return workspace_page(request, self._timezone, SECURITY_HEADERS)

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        """The workspace's script and stylesheet."""
        name = request.match_info["name"]
        if name not in ASSETS:
            raise web.HTTPNotFound()
        headers = {"Content-Type": ASSETS[name], "Cache-Control": "no-cache"}
        return web.FileResponse(STATIC / name, headers=headers)

    async def _login_page(self, request: web.Request) -> web.StreamResponse:
        """The agent login form."""
        if await self._signed_in(request) is not None:
            return web.Response(status=302, headers={"Location": "/agent"})
        return self._render_login(request, error=None, status=200)

    async def _login(self, request: web.Request) -> web.StreamResponse:
        """Signs an agent in (form: name, password, csrf) and sets the session cookie."""
        form = await read_form(request)
        name, secret = form.get("name", "").strip(), form.get("password", "")
        cookie_token, form_token = request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf", "")
        if not cookie_token or not same_secret(form_token, cookie_token):
            return _error(403, "missing or wrong CSRF token: reload the login page")
        client = self._proxies.client_address(request)
        if await self._throttle.blocked(name, client):
            log.warning("handoff.agent.login_blocked", agent=name[:64], address=client)
            return self._render_login(request, error="blocked", status=429)
        agent = await self._service.agents.authenticate(name, secret)
        if agent is None:
            await self._throttle.failed(name, client)
            log.warning("handoff.agent.login_failed", agent=name[:64], address=client)
            return self._render_login(request, error="invalid", status=401)
        await self._throttle.succeeded(name, client)
        log.info("handoff.agent.login", agent=agent.name, agent_id=agent.id)
        response = web.Response(status=303, headers={"Location": "/agent"})
        cookie = await self._signer.open("agent", str(agent.id))
        self._set_cookie(request, response, SESSION_COOKIE, cookie, "/agent")
        response.del_cookie(LOGIN_COOKIE, path="/agent/login")
        return response

    async def _logout(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """Signs the agent out (needs the X-CSRF-Token header)."""
        signed_in = await self._signed_in(request)
        if signed_in is not None:
            await self._signer.revoke(signed_in[1])
        log.info("handoff.agent.logout", agent_id=agent.id)
        response = web.json_response({"ok": True})
        response.del_cookie(SESSION_COOKIE, path="/agent")
        return response

    async def _change_password(
        self, request: web.Request, agent: AgentRecord
    ) -> web.StreamResponse:
        """``{"current", "new"}``: every session of the agent ends; this browser gets a new one."""
        current = await _text_field(request, "current")
        new = await _text_field(request, "new")
        client = self._proxies.client_address(request)
        if await self._throttle.blocked(agent.name, client):
            return _error(429, "too many failed attempts; try again later")
        if await self._service.agents.authenticate(agent.name, current) is None:
            await self._throttle.failed(agent.name, client)
            return _error(403, "the current password is wrong")
        await self._service.agents.set_password(agent.id, new)  # ends every session
        response = web.json_response({"ok": True})
        cookie = await self._signer.open("agent", str(agent.id))
        self._set_cookie(request, response, SESSION_COOKIE, cookie, "/agent")
        return response

    async def _me(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """The signed-in agent and the CSRF token for write requests."""
        signed_in = await self._signed_in(request)
        assert signed_in is not None
        csrf = self._signer.csrf_token(signed_in[1])
        return web.json_response({"id": agent.id, "name": agent.name, "csrf": csrf})

    async def _queue(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """The waiting queue and the agent's own conversations, with their summaries."""
        return web.json_response(await self._desk.queue_view(agent))

    async def _conversation(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """One handed-off conversation: its state, summary and transcript."""
        return web.json_response(await self._desk.conversation(_handoff_id(request), agent))

    async def _claim(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """Claims a waiting conversation; 409 when another agent was first."""
        return web.json_response(await self._desk.claim(_handoff_id(request), agent))

    async def _reply(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """Sends the agent's message ({"text"}) to the customer on the customer's platform."""
        text = await _text_field(request, "text")
        return web.json_response(await self._desk.reply(_handoff_id(request), agent, text))

    async def _note(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """Adds an internal note ({"text"}) that the customer never sees."""
        text = await _text_field(request, "text")
        return web.json_response(await self._desk.note(_handoff_id(request), agent, text))

    async def _close(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """Closes the conversation ({"resolution"?}) and asks the customer for a rating.

        The customer is back with the bot afterwards.
        """
        resolution = await _text_field(request, "resolution", required=False)
        return web.json_response(await self._desk.close(_handoff_id(request), agent, resolution))

    async def _release(self, request: web.Request, agent: AgentRecord) -> web.StreamResponse:
        """Puts a claimed conversation back in the queue."""
        return web.json_response(await self._desk.release(_handoff_id(request), agent))

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        """The workspace's WebSocket (``?csrf=``): queue changes and customer messages, live."""
        signed_in = await self._signed_in(request)
        if signed_in is None:
            return _error(401, "log in first")
        agent, session = signed_in
        # Browsers send cookies on cross-site WebSocket handshakes: the token proves the page.
        if not self._signer.csrf_ok(session, request.query.get("csrf")):
            return _error(403, "missing or wrong CSRF token")
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        await self._desk.connected(agent, ws)
        log.info("handoff.workspace.connected", agent_id=agent.id)
        try:
            await ws.send_json({"type": "hello", "agent": agent.name})
            async for frame in ws:
                if frame.type is WSMsgType.TEXT and not await self._still_allowed(agent):
                    break
        finally:
            await self._desk.disconnected(agent, ws)
            log.info("handoff.workspace.disconnected", agent_id=agent.id)
        await ws.close()
        return ws

    async def _still_allowed(self, agent: AgentRecord) -> bool:
        """Pings keep the agent online; a disabled agent's socket is closed."""
        current = await self._service.agents.get(agent.id)
        if current is None or not current.active:
            return False
        await self._service.agents.seen(agent.id, online=True)
        return True

    def _render_login(
        self, request: web.Request, *, error: str | None, status: int
    ) -> web.Response:
        token = secrets.token_urlsafe(24)
        page = Template((STATIC / "login.html").read_text(encoding="utf-8")).substitute(
            csrf=escape(token), error=escape(LOGIN_ERRORS.get(error or "", ""))
        )
        response = web.Response(
            text=page, status=status, content_type="text/html", headers=SECURITY_HEADERS
        )
        self._set_cookie(request, response, LOGIN_COOKIE, token, "/agent/login", max_age=3600)
        return response

    def _set_cookie(
        self,
        request: web.Request,
        response: web.StreamResponse,
        name: str,
        value: str,
        path: str,
        *,
        max_age: int | None = None,
    ) -> None:
        response.set_cookie(
            name,
            value,
            path=path,
            max_age=max_age or self._signer.lifetime_s,
            httponly=True,
            samesite="Strict",
            secure=self._secure or self._proxies.is_https(request),
        )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _handoff_id(request: web.Request) -> int:
    handoff_id = parse_id(request.match_info["id"])
    if handoff_id is None:
        raise UnknownHandoff(request.match_info["id"][:32])
    return handoff_id


async def _text_field(request: web.Request, name: str, *, required: bool = True) -> str:
    body = parse_json(await request.read() or b"{}")
    value = body.get(name, "") if isinstance(body, dict) else None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError(f"field {name!r} must be a non-empty string")
    return value
