"""Imports tell the truth: scores checked against goals, no invented minutes, idempotent on
any database, and the time zone of offset-less kick-offs given or announced."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from storage.store import Store
from tests.test_cli import matchday
from tests.test_import import DATA

EN1 = str(DATA / "en.1-2024-25.json")
WC2018 = str(DATA / "worldcup-2018.json")


def test_half_times_the_goals_contradict_are_corrected_with_a_warning(database_url: str) -> None:
    db = database_url
    done = matchday(["import", WC2018], "", db)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, done.stderr
    assert "Japan v Poland (2018-06-28): half-time score 0–1" in warnings[0]
    assert "Senegal v Colombia (2018-06-28): half-time score 0–1" in warnings[1]
    assert all(w.endswith("using 0–0") for w in warnings)
    # At half-time of both matches, and after them, the bot says 0–0 at the break.
    script = "/score Japan\n/score Senegal\n"
    at_break = matchday(["console", "--now", "2018-06-28T14:52:00Z"], script, db)
    assert at_break.stdout.count("Half-time") == 2, at_break.stdout
    assert "Japan 0–0 Poland" in at_break.stdout and "Senegal 0–0 Colombia" in at_break.stdout
    after = matchday(["console", "--now", "2018-06-29T00:00:00Z"], script, db)
    assert "Japan 0–1 Poland" in after.stdout and after.stdout.count("(HT 0–0)") == 2


def test_scorers_without_goal_details_invent_no_minute(database_url: str) -> None:
    db = database_url
    assert matchday(["import", EN1], "", db).returncode == 0
    done = matchday(["console", "--now", "2025-06-01T00:00:00Z"], "/scorers Arsenal\n", db)
    assert "Southampton FC 1–2 Arsenal FC" in done.stdout
    assert "Goal details aren't available" in done.stdout
    assert "'" not in done.stdout.replace("aren't", "")  # no minute at all


def test_reimport_after_the_console_rewound_the_store_changes_nothing(database_url: str) -> None:
    db = database_url
    first = matchday(["import", WC2018, EN1], "", db)
    assert "64 new or changed" in first.stdout and "380 new or changed" in first.stdout
    # The console at another instant rewinds what the store has observed...
    rewound = matchday(["console", "--now", "2018-06-20T12:00:00Z"], "/score Belgium\n", db)
    assert rewound.returncode == 0, rewound.stderr
    # ...which is no change to the files: importing them again says so.
    again = matchday(["import", WC2018, EN1], "", db)
    assert again.stdout.count("nothing new") == 2, again.stdout


def _kickoffs(db: Path) -> list[str]:
    async def read() -> list[str]:
        store = await Store.open(db)
        try:
            rows = await store.db.fetch_all("SELECT kickoff FROM matches ORDER BY key")
            return [r[0] for r in rows]
        finally:
            await store.close()

    return asyncio.run(read())


# SQLite only: it needs four databases and checks that a refused import creates no file.
def test_time_zone_given_guessed_or_announced(tmp_path: Path) -> None:
    guessed = matchday(["import", EN1], "", tmp_path / "a.db")
    assert "read as Europe/London (guessed from the file name)" in guessed.stderr
    assert "--timezone ZONE" in guessed.stderr

    renamed = tmp_path / "premier-league.json"
    shutil.copy(EN1, renamed)
    silent = matchday(["import", str(renamed)], "", tmp_path / "b.db")
    assert "read as UTC (the file does not say)" in silent.stderr

    given = matchday(["import", "--timezone", "Europe/London", str(renamed)], "", tmp_path / "c.db")
    assert given.returncode == 0 and "note:" not in given.stderr
    assert _kickoffs(tmp_path / "c.db") == _kickoffs(tmp_path / "a.db")
    assert _kickoffs(tmp_path / "b.db") != _kickoffs(tmp_path / "a.db")

    bad = matchday(["import", "--timezone", "Mars/Olympus", EN1], "", tmp_path / "d.db")
    assert bad.returncode == 2 and "unknown time zone 'Mars/Olympus'" in bad.stderr
    assert not (tmp_path / "d.db").exists()
