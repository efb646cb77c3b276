"""`matchday backup PATH` and `MATCHDAY_LOG_FORMAT=json`: what an operator runs and reads."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.backup import BackupError, backup_database
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import running_bot
from tests.test_cli import matchday
from tests.test_delivery import BEFORE_HARAGUCHI, goal_sends, seed_followers


def sent_alerts(db: Path) -> set[int]:
    with closing(sqlite3.connect(db)) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM alerts WHERE status = 'sent'")}


async def test_backup_mid_fan_out_holds_every_row_committed_before_it(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db, copy = tmp_path / "bot.db", tmp_path / "backups" / "copy.db"
    copy.parent.mkdir()
    chats = list(range(5000, 5300))
    await seed_followers(db, chats, BEFORE_HARAGUCHI, fake=fake_telegram)
    async with running_bot(fake_telegram, db, now=BEFORE_HARAGUCHI, MATCHDAY_POLL_SECONDS="1"):
        await fake_telegram.wait_for(lambda: len(goal_sends(fake_telegram)) >= 40, timeout=60)
        before = sent_alerts(db)  # committed before the backup starts
        report = await asyncio.to_thread(backup_database, db, copy)
        still_sending = len(goal_sends(fake_telegram)) < len(chats)
    assert before, "the fan-out had not marked anything sent yet"
    assert still_sending, "the fan-out ended before the backup: nothing was tested mid-way"
    assert before <= sent_alerts(copy)
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (followers,) = conn.execute("SELECT COUNT(*) FROM follows").fetchone()
    assert followers == len(chats)
    assert report.matches == 64 and report.alerts >= len(before)
    assert not list(copy.parent.glob(".*partial")), "the temporary copy is cleaned up"


def test_backup_command_reports_what_it_copied(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    done = matchday(["console", "--now", "2018-07-03T12:00:00Z"], "/follow Japan\n", db)
    assert done.returncode == 0, done.stderr
    done = matchday(["backup", str(tmp_path / "copy.db")], "", db)
    assert done.returncode == 0, done.stderr
    assert "64 matches" in done.stdout and "copy.db" in done.stdout
    with closing(sqlite3.connect(tmp_path / "copy.db")) as conn:
        (follows,) = conn.execute("SELECT COUNT(*) FROM follows").fetchone()
    assert follows == 1


@pytest.mark.parametrize(
    ("setup", "target", "complaint"),
    [
        ("missing", "copy.db", "there is no database at"),
        ("live", "no/such/folder/copy.db", "does not exist"),
        ("live", "live.db", "is the database itself"),
    ],
)
def test_backup_refuses_clearly_and_writes_nothing(
    tmp_path: Path, setup: str, target: str, complaint: str
) -> None:
    db = tmp_path / "live.db"
    if setup == "live":
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("CREATE TABLE t(x)")
    done = matchday(["backup", str(tmp_path / target)], "", db)
    assert done.returncode == 1
    assert complaint in done.stderr and "Traceback" not in done.stderr
    assert db.exists() == (setup == "live"), "a backup never creates the database it copies"
    assert not (tmp_path / "copy.db").exists()


def test_a_failed_backup_leaves_the_previous_copy_alone(tmp_path: Path) -> None:
    db, copy = tmp_path / "live.db", tmp_path / "copy.db"
    db.write_bytes(b"this is not a database, just some text that fills a page" * 100)
    copy.write_bytes(b"yesterday's backup")
    with pytest.raises(BackupError):
        backup_database(db, copy)
    assert copy.read_bytes() == b"yesterday's backup"


def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    done = matchday(
        ["-v", "console", "--now", "2018-07-03T12:00:00Z"], "/score Belgium\n",
        tmp_path / "j.db", MATCHDAY_LOG_FORMAT="json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert lines, "verbose logging printed nothing"
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert "Belgium 3–2 Japan" in done.stdout


def test_unknown_log_format_is_named(tmp_path: Path) -> None:
    done = matchday(["console"], "", tmp_path / "k.db", MATCHDAY_LOG_FORMAT="xml")
    assert done.returncode == 2 and "MATCHDAY_LOG_FORMAT" in done.stderr


def test_backup_of_a_postgresql_store_points_to_pg_dump(tmp_path: Path) -> None:
    url = "postgresql://bot:s3cret-pw@127.0.0.1:1/matchday"
    done = matchday(["backup", str(tmp_path / "copy.db")], "", url)  # type: ignore[arg-type]
    assert done.returncode == 1
    assert "pg_dump -Fc" in done.stderr and "pg_restore" in done.stderr
    assert "Traceback" not in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout
    assert not (tmp_path / "copy.db").exists()
