"""Whatever a chat sends, every command answers in valid Telegram HTML and the store holds."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handlers.base import Request
from handlers.commands import COMMANDS, dispatch
from storage.store import MAX_REMINDER_MINUTES, Store
from tests.conftest import assert_valid_reply, make_request

NASTY = [
    "'; DROP TABLE teams; --",
    "Belgium'); DELETE FROM matches; --",
    "<script>alert(1)</script>",
    "<b>bold</b> & <i>",
    "&amp; &lt; &#0; &nbsp;",
    "🇧🇪⚽🔥" * 50,
    "\x00\x01\x07\x1b[31m\u202e\ufeff",
    "Europe/../../etc/passwd",
    "9" * 5000,
    "60 15 " * 1000,
    "off",
    "b",
    "Group H",
    "world cup",
    " \n\t ",
    "%s %d {0} {name}",
]

arguments = st.one_of(
    st.text(max_size=5000),
    st.text(max_size=60),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from([*NASTY, "Japan", "BEL", "60", "-5"]), max_size=6).map(" ".join),
)


async def team_count(store: Store) -> int:
    """Real teams: knock-out placeholders ("Winner Group A") come and go with the clock."""
    rows = await store._all("SELECT COUNT(*) FROM teams WHERE placeholder = 0")
    return int(rows[0][0])


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=arguments, group=st.booleans(), admin=st.booleans())
@example(args="'; DROP TABLE teams; --", group=False, admin=True)
@example(args="<script>&", group=True, admin=False)
async def test_any_arguments_get_a_valid_reply(
    store: Store, command: str, args: str, group: bool, admin: bool
) -> None:
    kind = "group" if group else "private"
    req = await make_request(store, f"/{command}", chat_kind=kind, is_admin=admin)
    # The arguments exactly as given, not as parse_command would tidy them.
    req = Request(req.command, args, req.chat, req.user_id, req.store, req.clock, req.settings,
                  req.is_admin)  # fmt: skip
    reply = await dispatch(req)
    assert_valid_reply(reply)
    assert not reply.text.startswith("Sorry — something went wrong"), reply.text
    assert await team_count(store) == 32

    chat = await store.chat("test", req.chat.external_id)
    assert chat is not None
    ZoneInfo(chat.timezone)
    assert all(1 <= lead <= MAX_REMINDER_MINUTES for lead in chat.reminders)
    assert len(chat.reminders) <= 5


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
async def test_any_message_text(store: Store, text: str) -> None:
    """Whole messages, as typed: commands known or not, and text that is no command at all."""
    try:
        req = await make_request(store, "/" + text)
    except ValueError:
        return  # not a command: adapters answer that without dispatching
    reply = await dispatch(req)
    assert_valid_reply(reply)
    assert not reply.text.startswith("Sorry — something went wrong"), reply.text
    assert await team_count(store) == 32
