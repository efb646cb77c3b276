"""Webhook mode: a real `matchday run` that Telegram (the fake) POSTs updates to."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.fake_webhook import SECRET_HEADER
from tests.test_cli import matchday
from tests.test_ops import free_port
from tests.test_restart import matchday_process

NOW = "2018-07-03T12:00:00Z"


def stored_secret(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        (secret,) = conn.execute("SELECT value FROM meta WHERE key = 'webhook.secret'").fetchone()
    return secret


async def test_webhook_mode_answers_and_refuses_unsigned_posts(
    fake_telegram: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, log, port = tmp_path / "bot.db", tmp_path / "bot.log", free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates"
    monkeypatch.setenv("MATCHDAY_WEBHOOK_URL", url)
    monkeypatch.setenv("MATCHDAY_WEBHOOK_LISTEN", f"127.0.0.1:{port}")
    async with matchday_process(fake_telegram, db, NOW, 1, log):
        fake_telegram.push_message(601, "/score Belgium")
        (reply,) = await fake_telegram.wait_for_messages(601, 1, timeout=60)
        secret = fake_telegram.calls("setWebhook")[0].params["secret_token"]
        forged = {"update_id": 999_999, "message": {  # an impostor's post, not Telegram's
            "message_id": 1, "date": 0, "text": "/follow Japan",
            "chat": {"id": 602, "type": "private"}, "from": {"id": 602, "is_bot": False,
            "first_name": "Mallory"}, "entities": [{"type": "bot_command", "offset": 0,
            "length": 7}]}}  # fmt: skip
        async with httpx.AsyncClient() as client:
            wrong = await client.post(url, json=forged, headers={SECRET_HEADER: "guess"})
            unsigned = await client.post(url, json=forged)
        fake_telegram.push_message(601, "/following")
        await fake_telegram.wait_for_messages(601, 2, timeout=60)
    assert "Belgium 3–2 Japan" in reply
    assert wrong.status_code == 403 and unsigned.status_code == 403
    assert not fake_telegram.messages_to(602), "a forged update was acted on"
    assert not fake_telegram.calls("getUpdates"), "webhook mode never long-polls"
    assert fake_telegram.calls("setWebhook")[0].params["url"] == url
    assert secret == stored_secret(db) and len(secret) >= 32
    assert secret not in log.read_text()

    # A restart registers the same secret: the one generated first is kept in the database.
    async with matchday_process(fake_telegram, db, NOW, 1, log):
        await fake_telegram.wait_for(lambda: len(fake_telegram.calls("setWebhook")) == 2, 60)
        fake_telegram.push_message(601, "/next Belgium")
        await fake_telegram.wait_for_messages(601, 3, timeout=60)
    assert fake_telegram.calls("setWebhook")[1].params["secret_token"] == secret


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("MATCHDAY_WEBHOOK_URL", "bot.example.org/hook", "MATCHDAY_WEBHOOK_URL must be"),
        ("MATCHDAY_WEBHOOK_SECRET", "has spaces in it", "MATCHDAY_WEBHOOK_SECRET must be"),
        ("MATCHDAY_WEBHOOK_LISTEN", "0.0.0.0", "MATCHDAY_WEBHOOK_LISTEN must be host:port"),
    ],
)
def test_webhook_settings_are_checked(
    tmp_path: Path, name: str, value: str, complaint: str
) -> None:
    done = matchday(["run"], "", tmp_path / "w.db", TELEGRAM_BOT_TOKEN="1:x", **{name: value})
    assert done.returncode == 2 and complaint in done.stderr
    assert "1:x" not in done.stderr
