"""The real PTB Application, long polling the fake Bot API over HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fake_telegram import FakeError, FakeTelegram, parse_telegram_html
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import running_bot
from tests.harness import transport as transport

pytestmark = pytest.mark.usefixtures("transport")  # every test once per MATCHDAY_HTTP

AFTER_BELGIUM_JAPAN = datetime(2018, 7, 3, 12, 0, tzinfo=UTC)
GROUP = -100200300
ADMIN, MEMBER = 111, 222


async def test_private_chat_score_scorers_next(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        fake_telegram.push_message(42, "/score Belgium")
        (score,) = await fake_telegram.wait_for_messages(42, 1)
        assert "Belgium 3–2 Japan" in score and "Round of 16" in score

        fake_telegram.push_message(42, "/scorers Belgium")
        scorers = (await fake_telegram.wait_for_messages(42, 2))[1]
        names = ["Haraguchi 48'", "Inui 52'", "Vertonghen 69'", "Fellaini 74'", "Chadli 90+4'"]
        positions = [scorers.index(name) for name in names]
        assert positions == sorted(positions)

        fake_telegram.push_message(42, "/next Belgium")
        nxt = (await fake_telegram.wait_for_messages(42, 3))[2]
        assert "Brazil v Belgium" in nxt and "Kazan Arena" in nxt


async def test_menu_is_set_at_start_up(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        commands = {c["command"] for c in fake_telegram.commands_for()}
    expected = {"score", "scorers", "next", "fixtures", "results", "live", "table", "follow"}
    assert expected <= commands


async def test_group_commands_for_us_and_for_other_bots(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        fake_telegram.push_message(GROUP, "/score@otherbot Japan", user_id=MEMBER, title="Fans")
        fake_telegram.push_message(
            GROUP, f"/score@{fake_telegram.bot_username} Japan", user_id=MEMBER, title="Fans"
        )
        (reply,) = await fake_telegram.wait_for_messages(GROUP, 1)
        assert "Belgium 3–2 Japan" in reply
        fake_telegram.push_message(GROUP, "/help", user_id=MEMBER, title="Fans")
        await fake_telegram.wait_for_messages(GROUP, 2)
    assert len(fake_telegram.messages_to(GROUP)) == 2  # the other bot's command got nothing


async def test_group_admins_change_follows_others_are_refused(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    fake_telegram.set_admins(GROUP, [ADMIN])
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        fake_telegram.push_message(GROUP, "/follow Japan", user_id=MEMBER, title="Fans")
        (refusal,) = await fake_telegram.wait_for_messages(GROUP, 1)
        assert "administrators" in refusal
        fake_telegram.push_message(GROUP, "/follow Japan", user_id=ADMIN, title="Fans")
        done = (await fake_telegram.wait_for_messages(GROUP, 2))[1]
        assert "Following" in done and "Japan" in done
        fake_telegram.push_message(GROUP, "/following", user_id=MEMBER, title="Fans")
        listing = (await fake_telegram.wait_for_messages(GROUP, 3))[2]
        assert "Japan" in listing
    asked = [r.params.get("user_id") for r in fake_telegram.calls("getChatMember")]
    assert MEMBER in asked and ADMIN in asked


async def test_ambiguous_name_offers_buttons_and_a_press_answers(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        fake_telegram.push_message(42, "/score b")
        await fake_telegram.wait_for_messages(42, 1)
        markup = fake_telegram.sent[-1].reply_markup
        assert markup is not None
        choices = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
        assert "/score Belgium" in choices
        fake_telegram.push_callback_query(42, "/score Belgium")
        answer = (await fake_telegram.wait_for_messages(42, 2))[1]
        assert "Belgium 3–2 Japan" in answer
        assert len(fake_telegram.callback_answers) == 1  # the spinner was stopped


async def test_a_press_while_the_bot_was_down_is_still_answered(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Telegram refuses to acknowledge a press older than its window; the command stands."""
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        fake_telegram.push_message(42, "/score b")
        await fake_telegram.wait_for_messages(42, 1)
        fake_telegram.push_callback_query(42, "/score Belgium", age=600)  # ten minutes ago
        answer = (await fake_telegram.wait_for_messages(42, 2))[1]
        assert "Belgium 3–2 Japan" in answer
        (refused,) = fake_telegram.calls("answerCallbackQuery")
        assert refused.status == 400 and not fake_telegram.callback_answers


@pytest.mark.parametrize(
    "text",
    [
        "/score",
        "/score " + "x" * 5000,
        "/score <b>bold</b> & <script>",
        "/score '; DROP TABLE teams; --",
        "/score ⚽🇧🇪",
        "/frobnicate",
        "/scorers",
        "/table Group Z",
        "/remind -5",
    ],
)
async def test_bad_input_gets_a_valid_reply(
    fake_telegram: FakeTelegram, tmp_path: Path, text: str
) -> None:
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        fake_telegram.push_message(42, text)
        (reply,) = await fake_telegram.wait_for_messages(42, 1)
        visible, _ = parse_telegram_html(reply)
        assert 0 < len(visible) <= 4096
        fake_telegram.push_message(42, "/score Japan")  # the bot is still fine afterwards
        assert "Belgium 3–2 Japan" in (await fake_telegram.wait_for_messages(42, 2))[1]
    assert all(r.status == 200 for r in fake_telegram.calls("sendMessage"))


async def test_edits_stickers_and_plain_text(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        fake_telegram.push_edited_message(42, "/score Belgium")
        fake_telegram.push_sticker(42)
        fake_telegram.push_message(GROUP, "nice goal!", user_id=MEMBER, title="Fans")
        fake_telegram.push_message(42, "hello")
        (hint,) = await fake_telegram.wait_for_messages(42, 1)
        assert "/help" in hint
        fake_telegram.push_message(42, "/live")
        await fake_telegram.wait_for_messages(42, 2)
    assert fake_telegram.messages_to(GROUP) == []
    assert len(fake_telegram.messages_to(42)) == 2


async def test_token_never_logged(
    fake_telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.logs import RedactSecrets

    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactSecrets([fake_telegram.token]))
    fake_telegram.fail_next("sendMessage", times=1, error=FakeError.bad_request("chat not found"))
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=AFTER_BELGIUM_JAPAN):
        fake_telegram.push_message(42, "/score Japan")
        fake_telegram.push_message(42, "/score Belgium")
        await fake_telegram.wait_for_messages(42, 1)
    assert fake_telegram.token not in caplog.text
    assert "chat not found" in caplog.text.lower()
