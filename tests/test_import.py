"""`matchday import`: the real CLI on bundled files, hand-made files, bad files and URLs."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.cli import main
from bot.importer import progress_bar
from storage.store import Store
from tests.conftest import ask, plain_text

DATA = resources.files("feeds") / "data"
TABLES = ("competitions", "teams", "matches", "goals", "alerts")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MATCHDAY_DB in tmp_path; run from tmp_path so no checked-out `.env` leaks in."""
    path = tmp_path / "import.db"
    monkeypatch.setenv("MATCHDAY_DB", str(path))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return path


def bundled(name: str) -> str:
    return str(DATA / name)


async def run_import(*sources: str) -> int:
    """`matchday import SOURCE...` in-process (in a thread: the CLI runs its own loop)."""
    return await asyncio.to_thread(main, ["import", *sources])


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def snapshot(db: Path) -> list[str]:
    """Every row of every table, updated_at included: equal snapshots, unchanged database."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def match_row(db: Path, key: str) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM matches WHERE key = ?", (key,)).fetchone()
        assert row is not None, key
        return dict(row)
    finally:
        conn.close()


def team_count(db: Path, competition_slug: str) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(
            """
            SELECT count(*) FROM teams WHERE id IN (
                SELECT home_id FROM matches m JOIN competitions c ON c.id = m.competition_id
                WHERE c.slug = ?
                UNION
                SELECT away_id FROM matches m JOIN competitions c ON c.id = m.competition_id
                WHERE c.slug = ?)
            """,
            (competition_slug, competition_slug),
        ).fetchone()
    return int(n)


def write(path: Path, data: object) -> str:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return str(path)


async def reply(db: Path, text: str, now: datetime) -> str:
    store = await Store.open(db)
    try:
        return plain_text((await ask(store, text, now=now)).text)
    finally:
        await store.close()


# -- bundled files ----------------------------------------------------------------------------


async def test_both_2018_formats_give_one_tournament_of_32_teams(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_import(bundled("worldcup-2018.json")) == 0
    assert "Imported World Cup 2018: 64 matches, 64 new or changed." in capsys.readouterr().out
    assert team_count(db, "world-cup-2018") == 32
    first = counts(db)
    assert first["matches"] == 64 and first["teams"] == 32

    # The legacy format names the same teams (with FIFA codes) and the same matches.
    assert await run_import(bundled("worldcup-2018.legacy-rounds.json")) == 0
    assert "64 matches" in capsys.readouterr().out
    after = counts(db)
    assert team_count(db, "world-cup-2018") == 32
    assert after["teams"] == 32 and after["matches"] == 64 and after["competitions"] == 1
    assert after["alerts"] == 0  # an import is history: it alerts nobody

    text = await reply(db, "/scorers Belgium", datetime(2018, 7, 15, tzinfo=UTC))
    assert "Belgium 2–0 England" in text and "Meunier 4'" in text, text
    # As of the clock: on 3 July the third-place play-off is still to come.
    text = await reply(db, "/scorers Belgium", datetime(2018, 7, 3, 12, 0, tzinfo=UTC))
    assert "Belgium 3–2 Japan" in text and "Chadli 90+4'" in text, text


async def test_premier_league_without_goal_details_has_a_table(db: Path) -> None:
    assert await run_import(bundled("en.1-2024-25.json")) == 0
    assert counts(db)["matches"] == 380
    with sqlite3.connect(db) as conn:  # scores only: goals inferred from them, no scorers
        assert (
            conn.execute("SELECT count(*) FROM goals WHERE scorer IS NOT NULL").fetchone()[0] == 0
        )
    text = await reply(db, "/table premier", datetime(2025, 6, 1, tzinfo=UTC))
    rows = [line for line in text.splitlines() if re.match(r"\s*\d+ ", line)]
    assert len(rows) == 20, text
    assert "Liverpool" in rows[0] and rows[0].split()[-1] == "84", rows[0]
    assert all(line.split()[-8] == "38" for line in rows), rows  # P: everyone played 38


async def test_world_cup_2014(db: Path) -> None:
    assert await run_import(bundled("worldcup-2014.json")) == 0
    assert counts(db)["matches"] == 64
    assert team_count(db, "world-cup-2014") == 32
    text = await reply(db, "/scorers Germany", datetime(2014, 7, 14, tzinfo=UTC))
    assert "Götze" in text, text


# -- hand-made files --------------------------------------------------------------------------

SMALL: dict[str, Any] = {
    "name": "Test Cup 2025",
    "matches": [
        {
            "round": "Final",
            "date": "2025-07-21",
            "time": "18:00 UTC+0",
            "team1": "Aland",
            "team2": "Borduria",
            "score": {"ht": [0, 0], "ft": [1, 1]},
            "goals1": [{"name": "Ade", "minute": "90+4"}],
            "goals2": [{"name": "Bo", "minute": "45+1'"}],
        },
        {
            "round": "Final",
            "date": "2025-07-22",
            "time": "18:00",
            "team1": "Carpania",
            "team2": "Dorne",
            "score": {},
        },
        {
            "round": "Final",
            "date": "2025-07-23",
            "team1": "Aland",
            "team2": "Dorne",
            "status": "postponed",
        },
    ],
}


async def test_string_minutes_unplayed_and_postponed(db: Path, tmp_path: Path) -> None:
    assert await run_import(write(tmp_path / "small.json", SMALL)) == 0
    assert counts(db)["matches"] == 3
    played = match_row(db, "test-cup-2025:2025-07-21:aland-borduria")
    assert (played["status"], played["score_home"], played["score_away"]) == ("finished", 1, 1)
    with sqlite3.connect(db) as conn:
        goals = conn.execute("SELECT minute, stoppage, scorer FROM goals ORDER BY seq").fetchall()
    assert sorted(goals) == [(45, 1, "Bo"), (90, 4, "Ade")]
    unplayed = match_row(db, "test-cup-2025:2025-07-22:carpania-dorne")
    assert unplayed["status"] == "scheduled" and unplayed["score_home"] is None
    postponed = match_row(db, "test-cup-2025:2025-07-23:aland-dorne")
    assert postponed["status"] == "postponed"
    text = await reply(db, "/scorers Aland", datetime(2025, 7, 22, tzinfo=UTC))
    assert "Ade 90+4'" in text, text


async def test_reimport_changes_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "small.json", SMALL)
    assert await run_import(source) == 0
    before, rows = snapshot(db), counts(db)
    capsys.readouterr()
    await asyncio.sleep(0.01)  # a rewrite would stamp a later updated_at
    assert await run_import(source) == 0
    assert "3 matches, nothing new." in capsys.readouterr().out
    assert counts(db) == rows
    assert snapshot(db) == before  # every row, updated_at included


async def test_newer_version_updates_in_place(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "small.json"
    assert await run_import(write(source, SMALL)) == 0
    key = "test-cup-2025:2025-07-22:carpania-dorne"
    old = match_row(db, key)
    newer = json.loads(json.dumps(SMALL))
    newer["matches"][1]["score"] = {"ht": [1, 0], "ft": [2, 0]}
    newer["matches"][2]["time"] = "20:00"  # the postponed fixture got a kick-off time
    capsys.readouterr()
    assert await run_import(write(source, newer)) == 0
    assert "3 matches, 2 new or changed." in capsys.readouterr().out
    new = match_row(db, key)
    assert new["id"] == old["id"]
    assert (new["status"], new["score_home"], new["score_away"]) == ("finished", 2, 0)
    assert counts(db)["matches"] == 3
    moved = match_row(db, "test-cup-2025:2025-07-23:aland-dorne")
    assert moved["kickoff"].startswith("2025-07-23T20:00")


# -- bad input: exit 1, the file named, nothing written ---------------------------------------


def bad_date(tmp_path: Path) -> str:
    data = json.loads(json.dumps(SMALL))
    data["matches"][1]["date"] = "2025-02-30"
    return write(tmp_path / "bad-date.json", data)


@pytest.mark.parametrize(
    ("make", "name", "why"),
    [
        (
            lambda p: write(p / "broken.json", '{"name": "X", "matches": ['),
            "broken.json",
            "not valid JSON",
        ),
        (bad_date, "bad-date.json", "not a real date"),
        (lambda p: str(p / "missing.json"), "missing.json", "cannot read"),
    ],
)
async def test_malformed_file_changes_nothing(
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Any,
    name: str,
    why: str,
) -> None:
    assert await run_import(write(tmp_path / "small.json", SMALL)) == 0
    before, rows = snapshot(db), counts(db)
    capsys.readouterr()
    assert await run_import(make(tmp_path)) == 1
    captured = capsys.readouterr()
    assert name in captured.err and why in captured.err, captured.err
    assert "nothing was imported" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert counts(db) == rows
    assert snapshot(db) == before


async def test_bad_date_names_the_match(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_import(bad_date(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "bad-date.json: match 2 (Carpania v Dorne)" in err and "2025-02-30" in err


async def test_second_source_malformed_writes_neither(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every source is parsed before any is written, so one bad file stops them all."""
    assert await run_import(bundled("worldcup-2014.json")) == 0
    before = snapshot(db)
    good = write(tmp_path / "small.json", SMALL)
    assert await run_import(good, bad_date(tmp_path)) == 1
    assert "bad-date.json" in capsys.readouterr().err
    assert snapshot(db) == before


# -- URLs -------------------------------------------------------------------------------------


@pytest.fixture
async def file_server() -> AsyncIterator[str]:
    """A loopback server: /small.json answers 200 with SMALL, anything else 404."""

    async def small(request: web.Request) -> web.Response:
        return web.json_response(SMALL)

    app = web.Application()
    app.router.add_get("/data/small.json", small)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_url_import(db: Path, file_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_import(f"{file_server}/data/small.json") == 0
    assert "Imported Test Cup 2025: 3 matches, 3 new or changed." in capsys.readouterr().out
    assert counts(db)["matches"] == 3


async def test_url_404_is_a_clear_error(
    db: Path, file_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{file_server}/data/nope.json"
    assert await run_import(url) == 1
    err = capsys.readouterr().err
    assert url in err and "HTTP 404" in err and "Traceback" not in err


async def test_unreachable_url_is_a_clear_error(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:9/none.json"  # discard port: connection refused
    assert await run_import(url) == 1
    err = capsys.readouterr().err
    assert url in err and "could not download" in err


# -- progress bar -----------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    assert progress_bar(io.StringIO()) is None
    assert progress_bar(_Terminal()) is not None


async def test_import_with_a_bar_on_a_terminal(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert await run_import(write(tmp_path / "small.json", SMALL)) == 0
    assert counts(db)["matches"] == 3
    assert "Traceback" not in terminal.getvalue()
