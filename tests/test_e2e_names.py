"""Names in other languages, flags, "A v B" and spoiler-free fixtures through the real PTB
Application, long polling the fake Bot API (as a Telegram user types them)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import running_bot
from tests.harness import transport as transport

pytestmark = pytest.mark.usefixtures("transport")  # every test once per MATCHDAY_HTTP

CHAT = 4343


async def test_names_flags_pairs_and_no_spoilers(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    asked = {
        "/score Deutschland": "South Korea 2–0 Germany",
        "/score 日本": "Belgium 3–2 Japan",
        "/score 🇧🇪": "Belgium 3–2 Japan",
        "/scorers Belgique v Japon": "Nacer Chadli 90+4'",
        "/next Bélgica": "Brazil v Belgium",
        "/fixtures": "Winner Sweden/Switzerland v Winner Colombia/England",
    }
    now = datetime(2018, 7, 3, 12, 0, tzinfo=UTC)
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=now):
        for n, text in enumerate(asked, 1):
            fake_telegram.push_message(CHAT, text)
            reply = (await fake_telegram.wait_for_messages(CHAT, n))[-1]
            assert asked[text] in reply, (text, reply)
        # Belgium's semi-final is not decided on 3 July: /fixtures Belgium stops at Brazil.
        fake_telegram.push_message(CHAT, "/fixtures Belgium")
        reply = (await fake_telegram.wait_for_messages(CHAT, len(asked) + 1))[-1]
        assert "France" not in reply and "England" not in reply
