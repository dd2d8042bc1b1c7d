import asyncio

from bot.guards import ConversationLocks, CustomerRateLimiter
from core.types import ConversationKey

KEY = ConversationKey("rest", "alice", "alice")


async def test_messages_of_one_conversation_are_handled_in_arrival_order() -> None:
    locks = ConversationLocks()
    finished: list[int] = []

    async def handle(n: int, delay: float) -> None:
        async with locks.hold(KEY):
            await asyncio.sleep(delay)
            finished.append(n)

    first = asyncio.create_task(handle(1, 0.05))
    await asyncio.sleep(0)
    second = asyncio.create_task(handle(2, 0.0))
    await asyncio.gather(first, second)
    assert finished == [1, 2]
    assert len(locks) == 0  # nothing kept once the conversation is idle


async def test_rate_limit_applies_per_customer() -> None:
    limiter = CustomerRateLimiter(per_minute=3)
    results = [await limiter.allow(KEY) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert await limiter.allow(ConversationKey("rest", "bob", "bob"))
