"""What a fan would check, asked of a real store holding the World Cup 2018 as of an instant."""

from __future__ import annotations

import re

import pytest

from handlers.base import Reply
from handlers.commands import COMMANDS, parse_command
from storage.store import Store
from tests.conftest import ask, assert_valid_reply, html_problems, plain_text


async def said(store: Store, text: str, **kw: object) -> str:
    """The reply's text as the user reads it, after checking it is valid Telegram HTML."""
    reply = await ask(store, text, **kw)
    assert_valid_reply(reply)
    return plain_text(reply.text)


def labels(reply: Reply) -> list[str]:
    return [b.label for row in reply.buttons for b in row]


# -- the validator itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["a & b", "x < y", "<b>open", "<b><i>x</b></i>", "<script>x</script>", "&nbsp;", "<br/>"],
)
def test_html_validator_rejects_what_telegram_would(text: str) -> None:
    assert html_problems(text)


@pytest.mark.parametrize(
    "text", ["<b>a</b> &amp; <i>b</i>", "1 > 0", "<pre>a\n&lt;b&gt;</pre>", '<a href="x">y</a>']
)
def test_html_validator_accepts_telegram_html(text: str) -> None:
    assert html_problems(text) == []


# -- /score and /scorers ---------------------------------------------------------------------


async def test_score_shows_latest_result_with_stage_date_and_venue(store: Store) -> None:
    text = await said(store, "/score Belgium")
    lines = text.splitlines()
    assert lines[0] == "Belgium 3–2 Japan"
    assert "Full time" in lines[1] and "HT 0–0" in lines[1]
    assert "Round of 16" in text
    assert "Mon 2 Jul 2018, 18:00 UTC" in text
    assert "Rostov Arena, Rostov-on-Don" in text


async def test_scorers_in_minute_order(store: Store) -> None:
    text = await said(store, "/scorers Belgium")
    lines = text.splitlines()
    assert lines[0].startswith("Belgium 3–2 Japan")
    expected = [
        ("Haraguchi 48'", "Japan"),
        ("Inui 52'", "Japan"),
        ("Vertonghen 69'", "Belgium"),
        ("Fellaini 74'", "Belgium"),
        ("Chadli 90+4'", "Belgium"),
    ]
    assert len(lines) == 1 + len(expected)
    for line, (who, team) in zip(lines[1:], expected, strict=True):
        assert who in line and line.endswith(f"— {team}"), line


async def test_scorers_mark_penalties_and_own_goals(store: Store) -> None:
    text = await said(store, "/scorers Russia")
    lines = text.splitlines()
    assert lines[0].startswith("Spain 1–1 Russia")
    own_goal = next(line for line in lines if "Ignashevich" in line)
    penalty = next(line for line in lines if "Dzyuba" in line)
    assert "12'" in own_goal and "(og)" in own_goal and own_goal.endswith("— Spain")
    assert "41'" in penalty and "(pen)" in penalty and penalty.endswith("— Russia")
    assert "(pen)" not in own_goal and "(og)" not in penalty


async def test_scorers_needs_a_team(store: Store) -> None:
    assert "Belgium" in await said(store, "/scorers")


async def test_score_after_extra_time_and_shootout(store: Store) -> None:
    text = await said(store, "/score Russia")
    assert text.startswith("Spain 1–1 Russia")
    assert "after extra time" in text
    assert "Russia win 4–3 on penalties" in text


async def test_nothing_after_the_instant_is_known(store: Store) -> None:
    # England play Colombia at 18:00 on 3 July; at noon their last match is v Belgium.
    text = await said(store, "/score England")
    assert text.startswith("England 0–1 Belgium")
    assert "Colombia" not in text and "penalties" not in text
    assert "Colombia" not in await said(store, "/results England")
    nxt = await said(store, "/next England")
    assert nxt.startswith("Colombia v England") and "Not started" in nxt
    assert "Kane (England) — 5" in await said(store, "/topscorers")


async def test_score_without_a_team_lists_latest_results(store: Store) -> None:
    text = await said(store, "/score")
    assert "Latest results" in text and "Belgium 3–2 Japan" in text


# -- /next, /fixtures, /results, /live -------------------------------------------------------


async def test_next_match_with_venue(store: Store) -> None:
    text = await said(store, "/next Belgium")
    assert text.startswith("Brazil v Belgium")
    assert "Quarter-finals" in text and "Kazan Arena" in text
    assert "Fri 6 Jul 2018, 18:00 UTC" in text


async def test_next_match_in_the_chats_time_zone(store: Store) -> None:
    text = await said(store, "/next Belgium", chat=777, zone="Europe/Moscow")
    assert "21:00 MSK" in text and "18:00" not in text


async def test_fixtures_of_a_team_name_only_decided_pairings(store: Store) -> None:
    text = await said(store, "/fixtures Belgium")
    assert text.splitlines()[0] == "Fixtures — Belgium"
    # Only the quarter-final is decided on 3 July; later rounds would be spoilers.
    assert "Brazil v Belgium" in text
    assert "France" not in text and "England" not in text


async def test_fixtures_of_everyone_are_five(store: Store) -> None:
    text = await said(store, "/fixtures")
    assert text.count(" v ") == 5
    assert text.index("Sweden v Switzerland") < text.index("Colombia v England")


async def test_results_newest_first_at_most_five(store: Store) -> None:
    text = await said(store, "/results Japan")
    lines = text.splitlines()
    assert lines[0] == "Results — Japan"
    assert 1 <= len(lines) - 1 <= 5
    assert lines[1].startswith("2 Jul: Belgium 3–2 Japan")
    assert [line.split(":")[0] for line in lines[1:]] == ["2 Jul", "28 Jun", "24 Jun", "19 Jun"]
    assert len((await said(store, "/results")).splitlines()) == 1 + 5


async def test_live_when_nothing_is_in_play(store: Store) -> None:
    text = await said(store, "/live")
    assert "No match is in play" in text and "Next:" in text


async def test_live_mid_match(live_store: Store) -> None:
    # 19:10 on 2 July: Japan lead 2–0 early in the second half.
    text = await said(live_store, "/live")
    assert text.startswith("Belgium 0–2 Japan")
    assert "Live 53'" in text and "HT 0–0" in text
    assert await said(live_store, "/score Japan") == text
    scorers = await said(live_store, "/scorers Japan")
    assert "Haraguchi 48'" in scorers and "Inui 52'" in scorers
    assert "Vertonghen" not in scorers


# -- /table and /topscorers ------------------------------------------------------------------


def table_rows(text: str) -> dict[str, tuple[int, ...]]:
    """Team → (position, P, W, D, L, GF, GA, GD, Pts) from a rendered table."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\d+) (.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([+-]\d+|0)"
                     r"\s+(\d+)$", line)  # fmt: skip
        if m:
            pos, team, *numbers = m.groups()
            rows[team] = (int(pos), *(int(n) for n in numbers))
    return rows


async def test_group_table(store: Store) -> None:
    text = await said(store, "/table Group H")
    assert "Group H" in text
    rows = table_rows(text)
    assert set(rows) == {"Colombia", "Japan", "Senegal", "Poland"}
    assert rows["Colombia"][0] == 1 and rows["Colombia"][-1] == 6
    # Fair-play points (which put Japan through) are not modelled: level on everything.
    assert rows["Japan"][-1] == rows["Senegal"][-1] == 4
    assert rows["Japan"][-2] == rows["Senegal"][-2] == 0
    assert {rows["Japan"][0], rows["Senegal"][0]} == {2, 3}
    assert rows["Poland"][0] == 4


async def test_group_by_letter(store: Store) -> None:
    text = await said(store, "/table B")
    assert "Group B" in text and "Group A" not in text
    rows = table_rows(text)
    assert set(rows) == {"Spain", "Portugal", "Iran", "Morocco"}
    assert all(row[1] == 3 for row in rows.values())


async def test_table_without_arguments_shows_every_group(store: Store) -> None:
    text = await said(store, "/table")
    for letter in "ABCDEFGH":
        assert f"Group {letter}" in text
    assert len(table_rows(text)) == 32


async def test_table_of_a_named_competition(store: Store) -> None:
    assert "Group H" in await said(store, "/table World Cup")


async def test_topscorers(store: Store) -> None:
    lines = (await said(store, "/topscorers")).splitlines()
    assert lines[0] == "Top scorers — World Cup 2018"
    assert lines[1].startswith("1. Kane (England)")
    assert len(lines) <= 11


# -- forgiving names -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["belgum", "BEL", "bel", "BELGIUM", "Belgi", "belgium!"])
async def test_forgiving_team_names(store: Store, name: str) -> None:
    assert (await said(store, f"/score {name}")).startswith("Belgium 3–2 Japan")


async def test_accents_are_folded(store: Store) -> None:
    assert "Peru" in (await said(store, "/score Perú")).splitlines()[0]
    assert "South Korea" in (await said(store, "/score SOUTH-KÔREA")).splitlines()[0]


async def test_ambiguous_name_offers_buttons(store: Store) -> None:
    reply = await ask(store, "/score b")
    assert_valid_reply(reply)
    assert "which one" in reply.text
    assert set(labels(reply)) == {"Belgium", "Brazil"}
    commands = {b.command for row in reply.buttons for b in row}
    assert commands == {"/score Belgium", "/score Brazil"}
    for command in commands:  # a button press is just that command
        assert parse_command(command) is not None


async def test_unknown_team_gets_an_example(store: Store) -> None:
    text = await said(store, "/score xyzzy")
    assert "don't know" in text and "xyzzy" in text
    assert "/score Belgium" in text


async def test_overlong_name_is_refused_politely(store: Store) -> None:
    text = await said(store, "/score " + "x" * 500)
    assert "too long" in text


async def test_user_input_is_escaped(store: Store) -> None:
    reply = await ask(store, "/score <script>&")
    assert_valid_reply(reply)
    assert "&lt;script&gt;&amp;" in reply.text and "<script>" not in reply.text
    reply = await ask(store, "/<b>oops")
    assert_valid_reply(reply)
    assert "&lt;b&gt;" in reply.text


async def test_command_after_a_newline(store: Store) -> None:
    assert (await said(store, "/score\nBelgium")).startswith("Belgium 3–2 Japan")


# -- following -------------------------------------------------------------------------------


async def test_follow_twice_says_already(store: Store) -> None:
    first = await said(store, "/follow Japan")
    assert first.startswith("Following Japan") and "30 minutes before kick-off" in first
    assert "already follows Japan" in await said(store, "/follow japan")
    reply = await ask(store, "/following")
    assert_valid_reply(reply)
    assert "Japan" in reply.text
    assert [b.command for row in reply.buttons for b in row] == ["/unfollow Japan"]


async def test_unfollow_what_is_not_followed(store: Store) -> None:
    assert "does not follow “Belgium”" in await said(store, "/unfollow Belgium")
    await said(store, "/follow Japan")
    # /unfollow offers only what the chat follows, never other teams.
    reply = await ask(store, "/unfollow all")
    assert plain_text(reply.text) == "Stopped following Japan." and reply.buttons == ()
    await said(store, "/follow Japan")
    reply = await ask(store, "/unfollow Belgium")
    assert reply.buttons == () and "does not follow “Belgium”" in plain_text(reply.text)
    await said(store, "/unfollow Japan")
    await said(store, "/follow Belgium")
    assert "Stopped following Belgium" in await said(store, "/unfollow BEL")
    assert "follows nothing" in await said(store, "/following")


async def test_follow_the_competition(store: Store) -> None:
    assert (await said(store, "/follow World Cup")).startswith("Following World Cup 2018")
    chat = await store.chat("test", 100)
    assert chat is not None
    follows = await store.follows(chat.id)
    assert [(f.kind, f.name) for f in follows] == [("competition", "World Cup 2018")]
    assert "(all matches)" in await said(store, "/following")


async def test_follow_needs_a_name(store: Store) -> None:
    assert "Which team?" in await said(store, "/follow")


async def test_group_members_cannot_change_the_group(store: Store) -> None:
    group = {"chat": -555, "chat_kind": "group", "is_admin": False}
    for text in ("/follow Japan", "/remind 60", "/timezone Europe/Brussels"):
        assert "administrators" in await said(store, text, **group), text
    await said(store, "/follow Japan", chat=-555, chat_kind="group", is_admin=True)
    assert "administrators" in await said(store, "/unfollow Japan", **group)
    chat = await store.chat("test", -555)
    assert chat is not None
    assert chat.timezone == "UTC" and chat.reminders == (30,)
    assert [f.name for f in await store.follows(chat.id)] == ["Japan"]
    # Reading is for everyone.
    assert (await said(store, "/score Belgium", **group)).startswith("Belgium 3–2 Japan")
    assert "Japan" in await said(store, "/settings", **group)


async def test_supergroup_admin_may_change_it(store: Store) -> None:
    text = await said(store, "/follow Japan", chat=-1001, chat_kind="supergroup", is_admin=True)
    assert text.startswith("Following Japan")


# -- /remind, /timezone, /settings -----------------------------------------------------------


async def test_remind_then_settings(store: Store) -> None:
    said_back = await said(store, "/remind 60 15")
    assert said_back == "Done: a reminder 1 hour and 15 minutes before kick-off."
    text = await said(store, "/settings")
    assert "Reminders: 1 hour and 15 minutes before kick-off (change with /remind)" in text
    assert "Time zone: UTC" in text
    chat = await store.chat("test", 100)
    assert chat is not None and chat.reminders == (60, 15)
    assert (await said(store, "/remind")).startswith(
        "This chat gets a reminder 1 hour and 15 minutes before kick-off."
    )


async def test_remind_on_turns_the_default_back_on(store: Store) -> None:
    await said(store, "/remind off")
    assert await said(store, "/remind on") == "Done: a reminder 30 minutes before kick-off."
    chat = await store.chat("test", 100)
    assert chat is not None and chat.reminders == (30,)


@pytest.mark.parametrize("arg", ["-5", "999999999999", "abc", "0", "10081", "9" * 5000, "1.5"])
async def test_remind_refuses_what_is_not_minutes(store: Store, arg: str) -> None:
    text = await said(store, f"/remind {arg}")
    assert "is not a number of minutes" in text and "/remind 60 15" in text
    chat = await store.chat("test", 100)
    assert chat is not None and chat.reminders == (30,)


async def test_remind_refuses_too_many(store: Store) -> None:
    assert "At most 5" in await said(store, "/remind 1 2 3 4 5 6")


async def test_remind_off(store: Store) -> None:
    assert "no kick-off reminders" in await said(store, "/remind off")
    chat = await store.chat("test", 100)
    assert chat is not None and chat.reminders == ()
    settings = await said(store, "/settings")
    assert "Reminders: off (change with /remind)" in settings  # said once, not twice
    assert settings.count("remind") == 1
    await said(store, "/remind 30")
    chat = await store.chat("test", 100)
    assert chat is not None and chat.reminders == (30,)


async def test_unknown_time_zone_changes_nothing(store: Store) -> None:
    text = await said(store, "/timezone Mars/Olympus")
    assert "not a time zone I know" in text and "Europe/Brussels" in text
    chat = await store.chat("test", 100)
    assert chat is not None and chat.timezone == "UTC"


async def test_time_zone_is_normalised(store: Store) -> None:
    text = await said(store, "/timezone europe/brussels")
    assert "Europe/Brussels" in text and "14:00 CEST" in text
    chat = await store.chat("test", 100)
    assert chat is not None and chat.timezone == "Europe/Brussels"
    assert "20:00 CEST" in await said(store, "/score Belgium")
    await said(store, "/timezone america/sao paulo")
    chat = await store.chat("test", 100)
    assert chat is not None and chat.timezone == "America/Sao_Paulo"


async def test_time_zone_typo_offers_close_zones(store: Store) -> None:
    reply = await ask(store, "/timezone Europe/Brusels")
    assert_valid_reply(reply)
    assert "Europe/Brussels" in labels(reply)


# -- everything else -------------------------------------------------------------------------


async def test_unknown_command(store: Store) -> None:
    text = await said(store, "/foo")
    assert "don't know /foo" in text and "/help" in text


async def test_help_lists_every_menu_command_with_an_example(store: Store) -> None:
    reply = await ask(store, "/help")
    assert_valid_reply(reply)
    text = plain_text(reply.text)
    for command in COMMANDS:
        if not command.menu:
            continue
        line = next((x for x in text.splitlines() if x.startswith(f"/{command.name} — ")), None)
        assert line is not None, command.name
        if command.name != "help":
            assert command.example and line.endswith(command.example), line
            assert parse_command(command.example) is not None
            assert parse_command(command.example)[0] == command.name  # type: ignore[index]


async def test_start_greets(store: Store) -> None:
    text = await said(store, "/start")
    assert "Matchday" in text and "/score" in text


async def test_stats_only_for_operators(store: Store) -> None:
    assert "operators" in await said(store, "/stats")
    text = await said(store, "/stats", env={"MATCHDAY_ADMINS": "4242"})
    assert "Alert ledger" in text and "pending: 0" in text


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
async def test_every_command_without_arguments(store: Store, command: str) -> None:
    await said(store, f"/{command}")
    await said(store, f"/{command}", chat=-9, chat_kind="group", is_admin=False)
