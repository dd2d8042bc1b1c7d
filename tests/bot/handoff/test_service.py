"""The handoff state machine through the pipeline's two hooks and the agents' actions:
bot -> waiting -> assigned -> closed (rating) -> bot, with cancel and timeouts."""

from __future__ import annotations

import pytest

from bot.handoff import HandoffService, WaitingNotice
from bot.handoff.desk import HandoffConflict
from bot.handoff.records import AgentRecord
from core.errors import PermissionDenied
from core.events import EventKind
from core.settings import KefuSettings
from core.storage import ConversationStore, Database
from core.types import ConversationKey, OutgoingMessage
from tests.bot.handoff.conftest import BOT, Deliveries, customer_says, status
from tests.core.conftest import FakeClock

KEY = ConversationKey("rest", "carol", "carol")


async def escalate(service: HandoffService, store: ConversationStore) -> OutgoingMessage:
    replies = await customer_says(service, store, KEY, "转人工")
    assert isinstance(replies, list)
    [notice] = replies
    return notice


async def handoff_actions(store: ConversationStore) -> list[str]:
    events = await store.events(KEY, kinds=[EventKind.HANDOFF])
    return [e.payload["action"] for e in events]


async def test_asking_for_a_human_queues_the_conversation_with_a_way_back(
    service: HandoffService, store: ConversationStore, alice: AgentRecord
) -> None:
    await service.agents.seen(alice.id, online=True)
    notice = await escalate(service, store)
    assert "第 1 位" in notice.text and "分钟" in notice.text
    assert notice.custom["handoff"]["state"] == "waiting"
    assert notice.custom["handoff"]["estimated_wait_minutes"] == 6
    assert [b.payload for b in notice.buttons] == ["取消转人工"]
    assert await status(store, KEY) == "waiting"
    [event] = await store.events(KEY, kinds=[EventKind.HANDOFF])
    assert event.payload["reason"] == "customer_request"
    assert event.payload["action"] == "escalated"


async def test_with_no_agent_online_the_customer_is_told_a_message_was_left(
    service: HandoffService, store: ConversationStore
) -> None:
    notice = await escalate(service, store)
    assert "留言" in notice.text
    assert notice.custom["handoff"]["message_left"] is True
    assert await status(store, KEY) == "waiting"  # still queued, nothing lost


async def test_outside_business_hours_the_customer_is_told_a_message_was_left(
    service: HandoffService,
    store: ConversationStore,
    handoff_settings: KefuSettings,
    alice: AgentRecord,
    clock: FakeClock,
) -> None:
    handoff_settings.handoff.hours.always_open = False
    clock.now = clock.now.replace(hour=16)  # 00:00 in Shanghai
    await service.agents.seen(alice.id, online=True)
    replies = await customer_says(service, store, KEY, "I want to talk to a human")
    assert isinstance(replies, list)
    assert "outside service hours" in replies[0].text
    assert len(await service.queue.waiting()) == 1


async def test_two_failed_answers_send_the_next_question_to_a_human(
    service: HandoffService, store: ConversationStore
) -> None:
    for question in ("明天上海会下雨吗", "火星上能送货吗"):
        assert (
            await customer_says(service, store, KEY, question, bot_answer_kind="dont_know") == BOT
        )
    replies = await customer_says(service, store, KEY, "那你们到底能做什么")
    assert isinstance(replies, list)
    [event] = await store.events(KEY, kinds=[EventKind.HANDOFF])
    assert event.payload["reason"] == "failed_answers"


async def test_complaint_and_frustration_escalate_with_high_priority(
    service: HandoffService, store: ConversationStore
) -> None:
    other = ConversationKey("rest", "dave", "dave")
    await customer_says(service, store, KEY, "你们太差了，我要投诉", intent="complaint")
    await customer_says(service, store, other, "this is useless!!!", frustrated=True)
    reasons = {h.key.chat_id: (h.reason, h.priority) for h in await service.queue.waiting()}
    assert reasons == {"carol": ("complaint", 1), "dave": ("frustration", 1)}


async def test_bot_stays_silent_while_waiting_and_gives_the_position_now_and_then(
    service: HandoffService, store: ConversationStore, clock: FakeClock
) -> None:
    await escalate(service, store)
    assert await customer_says(service, store, KEY, "我的订单号是 12345") == []
    assert await customer_says(service, store, KEY, "还在吗") == []
    clock.advance(minutes=4)
    replies = await customer_says(service, store, KEY, "有人吗")
    assert isinstance(replies, list) and "第 1 位" in replies[0].text
    assert await customer_says(service, store, KEY, "转人工") != []  # asked again: answered


async def test_customer_can_cancel_and_the_bot_answers_again(
    service: HandoffService, store: ConversationStore
) -> None:
    await escalate(service, store)
    replies = await customer_says(service, store, KEY, "取消转人工")  # the cancel button
    assert isinstance(replies, list) and "已取消" in replies[0].text
    assert await status(store, KEY) == "bot"
    assert await service.queue.waiting() == []
    assert await customer_says(service, store, KEY, "怎么开发票") == BOT
    assert await handoff_actions(store) == ["escalated", "cancelled"]


async def test_full_round_trip_claim_relay_close_rating_back_to_bot(
    service: HandoffService,
    store: ConversationStore,
    deliveries: Deliveries,
    alice: AgentRecord,
) -> None:
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    detail = await service.desk.claim(waiting.id, alice)
    assert [line["text"] for line in detail["transcript"] if line["role"] == "customer"] == [
        "转人工"
    ]
    assert await status(store, KEY) == "assigned"
    assert "alice" in deliveries.to(KEY)[-1]

    assert await customer_says(service, store, KEY, "我的耳机坏了") == []
    await service.desk.reply(waiting.id, alice, "您好，请提供订单号")
    await service.desk.note(waiting.id, alice, "VIP customer, be nice")
    assert "您好，请提供订单号" in deliveries.to(KEY)
    assert all("VIP" not in text for text in deliveries.to(KEY))

    await service.desk.close(waiting.id, alice, "replacement sent")
    rating_question = deliveries.sent[-1][1]
    assert [b.payload for b in rating_question.buttons] == ["1", "2", "3", "4", "5"]
    assert await status(store, KEY) == "closed"

    replies = await customer_says(service, store, KEY, "5")
    assert isinstance(replies, list) and "感谢您的评价" in replies[0].text
    [csat] = await store.events(KEY, kinds=[EventKind.CSAT])
    assert csat.payload["score"] == 5 and csat.payload["agent_id"] == alice.id
    assert await status(store, KEY) == "bot"
    assert await customer_says(service, store, KEY, "怎么开发票") == BOT
    assert await handoff_actions(store) == ["escalated", "claimed", "closed"]


async def test_a_question_instead_of_a_rating_goes_to_the_bot(
    service: HandoffService, store: ConversationStore, alice: AgentRecord
) -> None:
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    await service.desk.claim(waiting.id, alice)
    await service.desk.close(waiting.id, alice, "done")
    assert await customer_says(service, store, KEY, "How long is the warranty?") == BOT
    assert await status(store, KEY) == "bot"
    assert await store.events(KEY, kinds=[EventKind.CSAT]) == []


async def test_claimed_conversation_of_a_vanished_agent_returns_to_the_queue(
    service: HandoffService,
    store: ConversationStore,
    alice: AgentRecord,
    bob: AgentRecord,
    clock: FakeClock,
    deliveries: Deliveries,
) -> None:
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    await service.desk.claim(waiting.id, alice)
    clock.advance(minutes=5)
    assert await service.desk.release_abandoned() == []  # within the timeout: still hers
    clock.advance(minutes=6)
    [released] = await service.desk.release_abandoned()
    assert released.state == "waiting" and released.agent_id is None
    assert await status(store, KEY) == "waiting"
    assert "回到排队" in deliveries.to(KEY)[-1]
    await service.desk.claim(waiting.id, bob)  # another agent can take it
    assert await handoff_actions(store) == ["escalated", "claimed", "released", "claimed"]


async def test_customer_message_after_the_timeout_requeues_at_once(
    service: HandoffService, store: ConversationStore, alice: AgentRecord, clock: FakeClock
) -> None:
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    await service.desk.claim(waiting.id, alice)
    clock.advance(minutes=11)
    await customer_says(service, store, KEY, "还有人吗")
    assert await status(store, KEY) == "waiting"


class Tab:
    """An agent's open workspace, as the hub sees it: records the pushed frames."""

    def __init__(self) -> None:
        self.closed = False
        self.frames: list[dict[str, object]] = []

    async def send_json(self, data: dict[str, object]) -> None:
        self.frames.append(data)

    async def close(self) -> bool:
        self.closed = True
        return True


async def test_cancel_while_assigned_tells_the_agent_and_returns_to_the_bot(
    service: HandoffService, store: ConversationStore, alice: AgentRecord
) -> None:
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    await service.desk.claim(waiting.id, alice)
    tab = Tab()
    await service.desk.connected(alice, tab)
    assert await customer_says(service, store, KEY, "还要多久") == []
    replies = await customer_says(service, store, KEY, "算了")
    assert isinstance(replies, list) and "已取消" in replies[0].text
    assert await status(store, KEY) == "bot"
    pushed = [(f["type"], f.get("action")) for f in tab.frames if f["type"] != "queue"]
    assert pushed == [("message", None), ("handoff", "cancelled")]
    with pytest.raises(PermissionDenied):
        await service.desk.reply(waiting.id, alice, "are you still there?")


async def test_reconnecting_agent_keeps_her_conversations(
    service: HandoffService, store: ConversationStore, alice: AgentRecord, clock: FakeClock
) -> None:
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    await service.desk.claim(waiting.id, alice)
    first = Tab()
    await service.desk.connected(alice, first)
    await service.desk.disconnected(alice, first)
    clock.advance(minutes=3)
    await service.desk.connected(alice, Tab())
    clock.advance(minutes=20)  # connected: the timeout never applies
    assert await service.desk.release_abandoned() == []
    mine = (await service.desk.queue_view(alice))["mine"]
    assert [h["id"] for h in mine] == [waiting.id]


async def test_agents_see_only_the_queue_and_their_own_conversations(
    service: HandoffService, store: ConversationStore, alice: AgentRecord, bob: AgentRecord
) -> None:
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    assert (await service.desk.conversation(waiting.id, bob))["handoff"]["state"] == "waiting"
    await service.desk.claim(waiting.id, alice)
    with pytest.raises(PermissionDenied):
        await service.desk.conversation(waiting.id, bob)
    with pytest.raises(PermissionDenied):
        await service.desk.reply(waiting.id, bob, "hi, I'm taking over")
    with pytest.raises(HandoffConflict):
        await service.desk.claim(waiting.id, bob)
    assert (await service.desk.queue_view(bob))["mine"] == []


async def test_the_summary_has_intent_entities_reason_and_last_turns(
    service: HandoffService, store: ConversationStore
) -> None:
    await store.append_event(KEY, EventKind.USER_MESSAGE, text="我的订单 A1001 还没到")
    await store.append_event(
        KEY,
        EventKind.UNDERSTANDING,
        payload={"intent": "order_status", "entities": {"order_id": "A1001"}},
    )
    await store.append_event(KEY, EventKind.BOT_REPLY, text="抱歉，我查不到", payload={})
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    summary = waiting.summary
    assert summary["intent"] == "order_status"
    assert summary["entities"] == {"order_id": "A1001"}
    assert summary["reason"] == "customer_request"
    assert summary["last_turns"][0] == {"role": "customer", "text": "我的订单 A1001 还没到"}


async def test_the_llm_summary_is_added_on_claim(
    handoff_settings: KefuSettings,
    database: Database,
    store: ConversationStore,
    deliveries: Deliveries,
    clock: FakeClock,
) -> None:
    seen: list[str] = []

    async def summarize(transcript: str) -> str:
        seen.append(transcript)
        return "Customer wants a human about a broken headset."

    service = HandoffService(
        handoff_settings.handoff, database, store, deliveries, clock=clock, summarize=summarize
    )
    agent = await service.agents.add("alice", token="kefu_x")
    await customer_says(service, store, KEY, "耳机坏了", bot_answer_kind="dont_know")
    await escalate(service, store)
    [waiting] = await service.queue.waiting()
    detail = await service.desk.claim(waiting.id, agent)
    assert detail["summary"]["llm"] == "Customer wants a human about a broken headset."
    assert "Customer: 耳机坏了" in seen[0]


async def test_waiting_conversations_notify_the_group_hook(
    handoff_settings: KefuSettings,
    database: Database,
    store: ConversationStore,
    deliveries: Deliveries,
    clock: FakeClock,
) -> None:
    notices: list[WaitingNotice] = []

    async def notify(notice: WaitingNotice) -> None:
        notices.append(notice)

    service = HandoffService(
        handoff_settings.handoff, database, store, deliveries, clock=clock, notify=notify
    )
    await escalate(service, store)
    await customer_says(service, store, KEY, "转人工")  # asked again: no second notice
    await service.close()
    assert [(n.key, n.reason, n.position) for n in notices] == [(KEY, "customer_request", 1)]


async def test_admin_hands_over_another_conversation_by_key(
    service: HandoffService, store: ConversationStore, deliveries: Deliveries
) -> None:
    await store.get_or_create(KEY)
    admin = ConversationKey("rest", "boss", "boss")
    replies = await service.admin_command(admin, f"/handoff {KEY.as_str()}", "en")
    assert replies is not None and KEY.as_str() in replies[0].text
    [waiting] = await service.queue.waiting()
    assert (waiting.key, waiting.reason) == (KEY, "admin")
    assert deliveries.to(KEY)  # the customer is told what happens next
    assert await service.admin_command(admin, "/kb stats", "en") is None


async def test_waiting_conversation_is_still_queued_after_a_restart(
    handoff_settings: KefuSettings,
    database: Database,
    store: ConversationStore,
    deliveries: Deliveries,
    clock: FakeClock,
) -> None:
    first = HandoffService(handoff_settings.handoff, database, store, deliveries, clock=clock)
    await escalate(first, store)
    await first.close()

    second = HandoffService(handoff_settings.handoff, database, store, deliveries, clock=clock)
    assert [h.key for h in await second.queue.waiting()] == [KEY]
    assert await customer_says(second, store, KEY, "还在排队吗") == []  # still not the bot's


async def test_handoff_switched_off_never_escalates(
    service: HandoffService, store: ConversationStore, handoff_settings: KefuSettings
) -> None:
    handoff_settings.handoff.enabled = False
    assert await customer_says(service, store, KEY, "转人工") == BOT
    assert await status(store, KEY) == "bot"
