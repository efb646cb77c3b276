"""The ``fake_telegram`` pytest fixture, and the one way a test says it needs leniency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.fake_telegram.limits import PAID_BROADCAST_PER_SECOND
from tests.fake_telegram.server import FakeTelegram

JSON = dict[str, Any]

LENIENT_KNOBS = {
    "enforce_limits": False,
    "refuse_unknown_chats": False,
    "callback_query_ttl": None,
}


def lenient(reason: str, **knobs: Any) -> JSON:
    """Keyword arguments that switch some of the fake's strictness off, with the reason.

    Only the strictness knobs are accepted, and only their lenient values, so a lenient test
    is easy to find (grep "lenient") and always says why.
    """
    if not reason.strip():
        raise ValueError("a lenient fake needs a reason")
    if not knobs:
        raise ValueError("name the strictness to switch off, e.g. enforce_limits=False")
    for name, value in knobs.items():
        if name == "overall_per_second":  # a higher overall rate, per-chat limits still on
            if not 30 < value <= PAID_BROADCAST_PER_SECOND:
                raise ValueError(f"overall_per_second={value!r}: Telegram allows 30 to 1000")
        elif name not in LENIENT_KNOBS or value != LENIENT_KNOBS[name]:
            raise ValueError(f"{name}={value!r} is not a lenient setting")
    return knobs


@pytest_asyncio.fixture
async def fake_telegram(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    """A started, strict FakeTelegram, stopped after the test.

    A test that needs it lenient says so: ``@pytest.mark.lenient_telegram("why",
    enforce_limits=False)``.
    """
    marker = request.node.get_closest_marker("lenient_telegram")
    knobs = lenient(*marker.args, **marker.kwargs) if marker is not None else {}
    async with FakeTelegram(**knobs) as fake:
        yield fake
