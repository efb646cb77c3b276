"""The command-line contract: `matchday`, `console`, `--now`, `--speed`, `stats`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


def matchday(
    args: list[str], stdin: str, db: Path | str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "MATCHDAY"))
    }
    environment.update({"MATCHDAY_DB": str(db), **env})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT, env=environment,
    )  # fmt: skip


def test_no_token_means_console_with_the_bundled_world_cup(tmp_path: Path) -> None:
    done = matchday([], "/score Belgium\n", tmp_path / "a.db")
    assert done.returncode == 0, done.stderr
    # Today the tournament is long over: Belgium's last match was the third-place play-off.
    assert "Belgium 2–0 England" in done.stdout


def test_console_at_an_instant(tmp_path: Path) -> None:
    script = "/score Belgium\n/scorers Belgium\n/next Belgium\n"
    done = matchday(["console", "--now", "2018-07-03T12:00:00Z"], script, tmp_path / "b.db")
    assert done.returncode == 0, done.stderr
    assert "Belgium 3–2 Japan" in done.stdout
    assert "Chadli 90+4'" in done.stdout
    assert "Brazil v Belgium" in done.stdout and "Kazan Arena" in done.stdout
    assert "<b>" not in done.stdout  # the console prints text, not HTML


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["console", "--now", "yesterday"], "not an ISO-8601 instant"),
        (["console", "--speed", "-3"], "speed must be a positive number"),
    ],
)
def test_bad_flags_are_explained(tmp_path: Path, args: list[str], complaint: str) -> None:
    done = matchday(args, "", tmp_path / "c.db")
    assert done.returncode == 2
    assert complaint in done.stderr


def test_bad_setting_is_named_not_crashed(tmp_path: Path) -> None:
    done = matchday(["console"], "", tmp_path / "d.db", MATCHDAY_TIMEZONE="Mars/Olympus")
    assert done.returncode == 2
    assert "MATCHDAY_TIMEZONE" in done.stderr and "Traceback" not in done.stderr


def test_stats_prints_the_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("MATCHDAY_DB", str(tmp_path / "e.db"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["import", str(ROOT / "feeds" / "data" / "worldcup-2018.json")]) == 0
    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    for label in ("pending", "sent", "failed", "inactive_chats", "send rate"):
        assert label in out


def test_stats_on_a_missing_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "nowhere.db"
    done = matchday(["stats"], "", db)
    assert done.returncode == 1
    assert f"no database at {db}" in done.stderr
    assert not db.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["run"], ["import", "nothing.json"], ["stats"]])
def test_a_database_url_of_another_engine_is_refused(
    tmp_path: Path, command: list[str]
) -> None:
    """MATCHDAY_DB takes a SQLite path or a postgresql:// URL; anything else is named and
    refused before a file of that name (or anything else) is created."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *command],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MATCHDAY_DB": "mysql://bot@db/matchday",
             "TELEGRAM_BOT_TOKEN": "123:abc"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "MATCHDAY_DB: mysql:// databases are not supported" in done.stderr
    assert "postgresql://" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_readme_demo_works_every_time(tmp_path: Path) -> None:
    """--now without MATCHDAY_DB runs on a throwaway copy: following Japan and watching the
    goals works on the second run as on the first, and the real database is untouched."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "MATCHDAY"))
    }
    environment["PYTHONPATH"] = str(ROOT)
    # Slow enough that loading every locale's country names (seconds on a busy machine)
    # is over before Chadli's 90+4' (about 19:51).
    demo = ["console", "--now", "2018-07-02T19:42:00Z", "--speed", "40", "--linger", "20"]
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *demo], input="/follow Japan\n", text=True,
            capture_output=True, timeout=60, cwd=tmp_path, env=environment,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "throwaway copy" in done.stderr
        outputs.append(done.stdout)
    for out in outputs:
        assert "Following Japan" in out and "already follows" not in out
        assert "GOAL" in out and "Chadli" in out and "Full time: Belgium 3–2 Japan" in out, out
    assert not (tmp_path / "matchday.db").exists()
