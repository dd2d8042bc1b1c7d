"""The admin review page and dashboard: token protection, review actions, charts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.feedback.models import CandidateStatus
from bot.feedback.service import FeedbackService
from bot.feedback.web import admin_routes
from bot.handoff.auth import StaffSessions
from bot.proxies import TrustedProxies
from core.storage import ConversationStore, Database
from tests.bot.feedback.conftest import ADMIN_TOKEN, Clock, FaqBook
from tests.bot.feedback.logs import Chat

Client = TestClient[Any, Any]
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def sessions(database: Database, clock: Clock) -> StaffSessions:
    return StaffSessions(database, b"k" * 32, timedelta(hours=12), clock=clock)


@pytest.fixture
async def client(service: FeedbackService, sessions: StaffSessions) -> AsyncIterator[Client]:
    app = web.Application()
    app.add_routes(admin_routes(service, sessions, TrustedProxies([])))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture
async def candidate_id(service: FeedbackService, store: ConversationStore, clock: Clock) -> int:
    chat = Chat(store, clock, "alice")
    await chat.customer("Can I pay with bitcoin? My number is 13812345678")
    await chat.bot("Sorry, I don't know.", kind="dont_know")
    await chat.agent("No, we take cards & Alipay <b>only</b>.")
    [candidate] = await service.review.pending()
    return candidate.id


async def test_pages_are_closed_until_a_token_is_configured(
    service: FeedbackService, client: Client
) -> None:
    service.settings.admin_token = None
    for path in ("/admin/review", "/admin/dashboard"):
        response = await client.get(path)
        assert response.status == 403
        assert "KEFU_FEEDBACK__ADMIN_TOKEN" in await response.text()


async def test_a_wrong_or_missing_token_is_refused(client: Client) -> None:
    assert (await client.get("/admin/review")).status == 401
    assert (
        await client.get("/admin/review", headers={"Authorization": "Bearer nope"})
    ).status == 401
    assert (await client.get("/admin/review?token=nope")).status == 401


@pytest.mark.usefixtures("candidate_id")
async def test_the_token_in_the_address_becomes_a_cookie(client: Client) -> None:
    response = await client.get(f"/admin/review?token={ADMIN_TOKEN}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/admin/review"
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert ADMIN_TOKEN not in response.headers["Set-Cookie"]

    page = await client.get("/admin/review")  # the cookie alone now opens the page
    assert page.status == 200
    assert "Candidate answers (1 pending)" in await page.text()


async def test_the_review_page_shows_candidates_escaped_with_a_privacy_warning(
    client: Client, candidate_id: int
) -> None:
    page = await (await client.get("/admin/review", headers=BEARER)).text()
    assert f'action="/admin/review/{candidate_id}/approve"' in page
    assert "&lt;b&gt;only&lt;/b&gt;" in page and "<b>only</b>" not in page
    assert "May contain personal data (phone)" in page


async def test_approving_from_the_page_adds_the_edited_answer_as_faq(
    client: Client, candidate_id: int, faqs: FaqBook, service: FeedbackService
) -> None:
    await client.get(f"/admin/review?token={ADMIN_TOKEN}")
    page = await (await client.get("/admin/review")).text()
    csrf = re.search(r'name="csrf" value="([\w-]+)"', page)
    assert csrf is not None

    response = await client.post(
        f"/admin/review/{candidate_id}/approve",
        data={
            "csrf": csrf.group(1),
            "question": "Can I pay with bitcoin?",
            "answer": "No, we take cards and Alipay.",
        },
        allow_redirects=False,
    )

    assert response.status == 303
    assert list(faqs.entries.values()) == [
        ("Can I pay with bitcoin?", "No, we take cards and Alipay.")
    ]
    [stored] = await service.candidates.find()
    assert stored.status is CandidateStatus.APPROVED
    assert stored.answer == "No, we take cards and Alipay."
    follow = await client.get(response.headers["Location"])
    assert "approved as FAQ added-1" in await follow.text()


async def test_a_form_post_without_the_pages_csrf_field_is_refused(
    client: Client, candidate_id: int, faqs: FaqBook
) -> None:
    await client.get(f"/admin/review?token={ADMIN_TOKEN}")  # logged in: cookie set
    response = await client.post(
        f"/admin/review/{candidate_id}/approve", data={"answer": "spam"}, allow_redirects=False
    )
    assert response.status == 401
    assert faqs.entries == {}


async def test_rejecting_from_the_page_with_a_bearer_token(
    client: Client, candidate_id: int, service: FeedbackService
) -> None:
    response = await client.post(
        f"/admin/review/{candidate_id}/reject",
        data={"reason": "contains a phone number"},
        headers=BEARER,
        allow_redirects=False,
    )
    assert response.status == 303
    [stored] = await service.candidates.find()
    assert (stored.status, stored.reason) == (CandidateStatus.REJECTED, "contains a phone number")


@pytest.mark.usefixtures("candidate_id")
async def test_the_dashboard_draws_charts_and_serves_json(client: Client) -> None:
    page = await client.get("/admin/dashboard", headers=BEARER)
    assert page.status == 200
    html = await page.text()
    assert "<svg" in html and "Top unanswered questions" in html

    numbers = await (await client.get("/admin/dashboard?format=json", headers=BEARER)).json()
    assert numbers["conversations"] == 1 and numbers["unanswered"] == 1

    bad = await client.get("/admin/dashboard?since=yesterday", headers=BEARER)
    assert bad.status == 400


async def admin_csrf(client: Client) -> str:
    page = await (await client.get("/admin/review")).text()
    found = re.search(r'name="csrf" value="([\w-]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.mark.usefixtures("candidate_id")
async def test_logout_ends_the_admin_session_on_the_server(client: Client) -> None:
    await client.get(f"/admin/review?token={ADMIN_TOKEN}")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/admin/review"))
    stolen = {"Cookie": f"kefu_admin={cookie['kefu_admin'].value}"}
    assert (await client.post("/admin/logout", data={"csrf": "wrong"})).status == 401
    logged_out = await client.post("/admin/logout", data={"csrf": await admin_csrf(client)})
    assert logged_out.status == 200
    # A copy of the old cookie is worthless now: the session is revoked, not just forgotten.
    assert (await client.get("/admin/review", headers=stolen)).status == 401


@pytest.mark.usefixtures("candidate_id")
async def test_the_admin_session_expires(client: Client, clock: Clock) -> None:
    response = await client.get(f"/admin/review?token={ADMIN_TOKEN}", allow_redirects=False)
    assert "Max-Age=43200" in response.headers["Set-Cookie"]
    assert (await client.get("/admin/review")).status == 200
    clock.advance(hours=12, seconds=1)
    assert (await client.get("/admin/review")).status == 401


async def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(
    service: FeedbackService, sessions: StaffSessions
) -> None:
    app = web.Application()
    app.add_routes(admin_routes(service, sessions, TrustedProxies(["127.0.0.1"])))
    async with TestClient(TestServer(app)) as proxied:
        https = {"X-Forwarded-Proto": "https"}
        response = await proxied.get(
            f"/admin/review?token={ADMIN_TOKEN}", headers=https, allow_redirects=False
        )
        assert "Secure" in response.headers["Set-Cookie"]
        plain = await proxied.get(f"/admin/review?token={ADMIN_TOKEN}", allow_redirects=False)
        assert "Secure" not in plain.headers["Set-Cookie"]
