"""Playing a timeline against the bot poll by poll, and judging what a follower was told.

Nothing here waits on wall-clock time for correctness: the test moves the bot's clock to
each poll instant and runs one engine tick to completion before moving on.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from storage.store import Store
from tests.timeline import HandClock, Timeline, shown_minute

POLL = timedelta(seconds=30)


async def play(
    tick: Callable[[], Awaitable[None]],
    clock: HandClock,
    until: datetime,
    *,
    jitter: float = 0.0,
    rng: random.Random | None = None,
) -> int:
    """Tick every 30 s (± `jitter` seconds) of the bot's clock until `until`; the ticks."""
    rng = rng or random.Random(0)
    ticks = 0
    while clock.at < until:
        clock.advance(POLL + timedelta(seconds=rng.uniform(-jitter, jitter)))
        await tick()
        ticks += 1
    return ticks


async def ledger_texts(store: Store, chat_id: int) -> list[str]:
    """Every live alert queued for one chat (reminders left out), in ledger order."""
    rows = await store._all(
        "SELECT text FROM alerts WHERE chat_id = ? AND event NOT LIKE 'reminder:%' ORDER BY id",
        (chat_id,),
    )
    return [row[0] for row in rows]


def is_details(text: str) -> bool:
    """A follow-up naming the scorer of a goal already announced from the score."""
    return "scored" in text and "'s goal" in text


def judge(timeline: Timeline, texts: list[str]) -> dict[str, int]:
    """Assert every event was told once, in order, with its running score and minute.

    Returns counts for the README's figures: events, alerts, detail follow-ups.
    """
    main = [t for t in texts if not is_details(t)]
    wanted = [fragment for _, fragment in timeline.expected()]
    assert len(main) == len(wanted), (wanted, main)
    for text, fragment in zip(main, wanted, strict=True):
        assert fragment in text, (fragment, text, main)
    for text in main:
        if "GOAL" in text:
            truth, shown = timeline.true_minute(text), shown_minute(text)
            assert truth is not None and shown is not None, text
            assert abs(shown - truth) <= 1, (truth, text)
    follow_ups = [t for t in texts if is_details(t)]
    assert len(follow_ups) <= len(timeline.goals), follow_ups
    for text in follow_ups:  # each after its goal, never before
        score = text.rsplit("— ", 1)[-1]
        first_goal = next(i for i, t in enumerate(texts) if "GOAL" in t and score in t)
        assert first_goal < texts.index(text), (text, texts)
    return {"events": len(wanted), "alerts": len(texts), "details": len(follow_ups)}
