"""Discord end to end, as users meet it: the bot's real discord.py client logs in to the fake
Discord over REST, holds a gateway session on its websocket, and answers the slash commands,
autocomplete and button presses users make there — in a server channel and in a DM.

Every wait is for something the fake saw (a frame, a callback, a message), never a
wall-clock deadline; only Discord's own 3 seconds to answer are timed, by the fake, as
Discord times them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import yarl
from discord.gateway import DiscordWebSocket

from bot.core import Core
from tests.discord_harness import discord_bot, until
from tests.discord_harness import fake as fake
from tests.discord_harness import restore_discord_addresses as restore_discord_addresses
from tests.fake_discord import CHANNEL_ID, FAN, MODERATOR, TOKEN, FakeDiscord
from tests.fake_discord_interactions import ANSWER_WITHIN

BELGIUM_V_JAPAN_KICK_OFF_SOON = datetime(2018, 7, 2, 17, 58, tzinfo=UTC)  # --now of README
HALF_AN_HOUR_BEFORE = datetime(2018, 7, 2, 17, 29, 30, tzinfo=UTC)
THE_MORNING_OF_THE_MATCH = datetime(2018, 7, 2, 9, 0, tzinfo=UTC)


async def test_the_client_dials_discord_gateway_url(fake: FakeDiscord, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "bot.db"):
        assert DiscordWebSocket.DEFAULT_GATEWAY == yarl.URL(fake.gateway_url)
        (connection,) = fake.gateway.connections
        assert connection.path == "/gateway/" and connection.compress == "zlib-stream"
        (identify,) = connection.ops(2)
        assert identify["d"]["token"] == TOKEN and identify["d"]["intents"] == 1  # guilds only
        assert connection.heartbeats >= 1  # discord.py beats at once after HELLO; ACKed
        assert [e["t"] for e in fake.gateway.session.events[:2]] == ["READY", "GUILD_CREATE"]


async def test_score_in_a_server_channel_and_in_a_dm(fake: FakeDiscord, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "bot.db") as (core, _):
        in_channel = await fake.slash("score", team="Belgium")
        in_dm = await fake.slash("score", channel=FAN.dm_channel, team="Belgium")
        for interaction in (in_channel, in_dm):
            reply = await fake.answer(interaction)
            assert reply.content.startswith("**Belgium 3–2 Japan**")
            assert "Rostov Arena" in reply.content
            assert reply.allowed_mentions == {"parse": []}
            assert not interaction.deferred  # answered at once, well within Discord's 3 s
            assert interaction.answered_after is not None
            assert interaction.answered_after < ANSWER_WITHIN
        channel = await core.store.chat("discord", CHANNEL_ID)
        assert channel is not None and channel.kind == "group" and channel.title == "football"
        dm = await core.store.chat("discord", FAN.dm_channel)
        assert dm is not None and dm.kind == "private"


SAMPLE_OPTIONS = {"team": "Belgium", "group": "Group H", "competition": "World Cup",
                  "minutes": "60 15", "zone": "Europe/Brussels"}  # fmt: skip


async def test_every_slash_command_answers_in_time_within_discord_limits(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    """Each registered command, as a moderator runs it in the channel: an answer Discord
    takes (2,000 characters, valid buttons) within its 3 seconds."""
    async with discord_bot(fake, tmp_path / "bot.db"):
        for command in list(fake.commands):
            options = {o["name"]: SAMPLE_OPTIONS[o["name"]] for o in command.get("options", [])}
            interaction = await fake.slash(command["name"], user=MODERATOR, **options)
            reply = await fake.answer(interaction)
            assert reply.content, command["name"]
            assert interaction.answered_after is not None
            assert interaction.answered_after < ANSWER_WITHIN, command["name"]
        assert len(fake.interactions.all) == len(fake.commands) >= 15


async def test_autocomplete_offers_belgium_for_bel(fake: FakeDiscord, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "bot.db"):
        choices = await fake.autocomplete("score", "team", "bel")
        assert choices[0] == {"name": "Belgium", "value": "Belgium"}
        assert len(choices) <= 25
        follow = await fake.autocomplete("follow", "team", "world", user=MODERATOR)
        assert any("World Cup" in c["name"] for c in follow)


async def test_a_button_from_an_ambiguous_name_runs_its_command(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    async with discord_bot(fake, tmp_path / "bot.db"):
        question = await fake.answer(await fake.slash("score", team="a"))
        assert "which one" in question.content
        assert question.custom_ids and all(i.startswith("/score ") for i in question.custom_ids)
        choice = question.custom_ids[0]
        pressed = await fake.press(question, choice)
        reply = await fake.answer(pressed)
        team = choice.removeprefix("/score ")
        assert reply.content.startswith("**") and team in reply.content
        assert reply.channel_id == CHANNEL_ID and pressed.answered_after is not None


async def test_only_manage_channels_changes_what_a_channel_follows(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    async with discord_bot(fake, tmp_path / "bot.db") as (core, _):
        refused = await fake.answer(await fake.slash("follow", team="Japan", user=FAN))
        assert "Only this group's administrators" in refused.content
        channel = await core.store.chat("discord", CHANNEL_ID)
        assert channel is not None and await core.store.follows(channel.id) == []
        accepted = await fake.answer(await fake.slash("follow", team="Japan", user=MODERATOR))
        assert accepted.content.startswith("Following **Japan**")
        assert [f.name for f in await core.store.follows(channel.id)] == ["Japan"]
        # In a direct message the user decides alone, Manage Channels or not.
        mine = await fake.answer(await fake.slash("follow", channel=FAN.dm_channel,
                                                  team="Belgium", user=FAN))  # fmt: skip
        assert mine.content.startswith("Following **Belgium**")


async def test_a_slow_answer_is_deferred_then_followed_up(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    async with discord_bot(fake, tmp_path / "bot.db") as (core, _):
        async with core.store.transaction():  # the store is busy: the first word must wait
            slow = await fake.slash("score", channel=MODERATOR.dm_channel, team="Japan",
                                    user=MODERATOR)  # fmt: skip
            await fake.wait_for(lambda: slow.deferred or slow.refused)
        reply = await fake.answer(slow)
        assert slow.deferred and slow.answered_after is not None
        assert slow.answered_after < ANSWER_WITHIN
        assert reply.content.startswith("**Belgium 3–2 Japan**")
        followups = [r for r in fake.requests if r.path.startswith("/api/v10/webhooks/")]
        assert [r.status for r in followups] == [200]


# -- a match, live, through a dropped gateway ------------------------------------------------

MATCH_ALERTS = [
    "🟢 Kick-off: Belgium v Japan", "⏸ Half-time: Belgium 0–0",
    "⚽ GOAL! Belgium 0–1 Japan", "⚽ GOAL! Belgium 0–2 Japan", "⚽ GOAL! Belgium 1–2 Japan",
    "⚽ GOAL! Belgium 2–2 Japan", "⚽ GOAL! Belgium 3–2 Japan", "🏁 Full time: Belgium 3–2",
]  # fmt: skip


async def settled(core: Core, chat_id: int) -> list[str]:
    """The chat's ledger once no row is pending or claimed: delivery marks a row sent just
    after Discord took it, so the fake may see the message a moment before the mark."""
    while True:
        rows = await core.store._all(
            "SELECT status FROM alerts WHERE chat_id = ? ORDER BY id", (chat_id,))
        if all(status not in {"pending", "sending"} for (status,) in rows):
            return [status for (status,) in rows]
        await asyncio.sleep(0.05)


def plain(texts: list[str]) -> list[str]:
    """Discord markdown as read: bold marks gone."""
    return [t.replace("**", "") for t in texts]


def starts(texts: list[str], prefix: str) -> bool:
    return any(t.startswith(prefix) for t in plain(texts))


async def test_a_following_channel_gets_its_reminder(fake: FakeDiscord, tmp_path: Path) -> None:
    """A moderator follows Japan half an hour before Belgium v Japan (60×): the channel gets
    the kick-off reminder (30 minutes, the default lead), by REST from the ledger."""
    async with discord_bot(fake, tmp_path / "bot.db", HALF_AN_HOUR_BEFORE,
                           speed=60) as (_, client):  # fmt: skip
        await fake.answer(await fake.slash("follow", team="Japan", user=MODERATOR))
        await until(fake, lambda: starts(fake.alerts(CHANNEL_ID), "⏰"), client)
        (reminder,) = plain(fake.alerts(CHANNEL_ID))
        assert reminder.startswith("⏰ Belgium v Japan kicks off in")
        assert "Rostov Arena" in reminder


async def test_a_following_channel_gets_the_match_through_a_gateway_drop(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    """Belgium v Japan at 120× from 17:58: the gateway drops (1006) at half-time; discord.py
    resumes the session at its resume URL, the command sent meanwhile is replayed and
    answered, and the channel gets every alert once, in order (by REST, from the ledger).

    The moderator followed Japan that morning (a first run of the bot): at 120× kick-off is
    one real second after the start, too soon to count on a command typed after it.
    """
    db = tmp_path / "bot.db"
    async with discord_bot(fake, db, THE_MORNING_OF_THE_MATCH) as (_, first_run):
        await fake.answer(await fake.slash("follow", team="Japan", user=MODERATOR))
        # discord.py's on_ready comes 2 s after the last GUILD_CREATE, from a task its
        # close() does not cancel: stopping sooner leaves it to fire on a closed client.
        await first_run.wait_until_ready()
    async with discord_bot(fake, db, BELGIUM_V_JAPAN_KICK_OFF_SOON,
                           speed=120) as (core, client):  # fmt: skip
        await until(fake, lambda: starts(fake.alerts(CHANNEL_ID), "⏸ Half-time"), client)
        gateway = fake.gateway
        session = gateway.session
        assert session is not None
        seen = session.seq
        await gateway.drop()
        meanwhile = await fake.slash("score", team="Japan")  # waits in the session
        await until(fake, lambda: session.resumes == 1 and gateway.connected, client)
        first, resumed = gateway.connections[-2:]
        assert first.closed_with == 1006
        assert resumed.path == "/resume/" and not resumed.ops(2)  # no new IDENTIFY
        (resume,) = resumed.ops(6)
        assert resume["d"]["session_id"] == session.id and resume["d"]["seq"] == seen
        assert "Belgium 0–0 Japan" in (await fake.answer(meanwhile)).content
        await until(fake, lambda: starts(fake.alerts(CHANNEL_ID), "🏁 Full time"), client)
        alerts = plain(fake.alerts(CHANNEL_ID))
        # The reminder, due at 17:30 while the bot was down, comes first if the first tick
        # beat kick-off (a second away); never after it. Then the match, whole.
        reminder, match = alerts[:-8], alerts[-8:]
        assert len(reminder) <= 1 and all(r.startswith("⏰") for r in reminder), alerts
        for alert, prefix in zip(match, MATCH_ALERTS, strict=True):
            assert alert.startswith(prefix), (alert, prefix)
        scorers = ["Haraguchi 48'", "Inui 52'", "Vertonghen 69'", "Fellaini 74'", "Chadli 90+4'"]
        assert [s for a in match[2:7] for s in scorers if s in a] == scorers
        chat = await core.store.chat("discord", CHANNEL_ID)
        assert chat is not None  # every row sent and posted once; a reminder may expire
        statuses = await settled(core, chat.id)
        assert statuses.count("sent") == len(alerts)
        assert statuses.count("expired") == 1 - len(reminder) and len(statuses) == 9
