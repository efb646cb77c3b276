"""The audit from issue 14: every 2018 team's last five results and last scorers, asked of the
real console at several instants, with other seasons imported alongside — a later World Cup
with the same teams among them — checked against the openfootball files themselves.

The expected answers are computed here from the raw JSON, not through the bot's parser, so
the two can only agree when the bot tells each instant as it was.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from bot.cli import main
from tests.test_cli import matchday

DATA = Path(str(resources.files("feeds") / "data"))
INSTANTS = (
    "2018-06-01T00:00:00Z",  # before the tournament: only 2014 is known
    "2018-06-20T23:00:00Z",  # group stage
    "2018-06-28T23:00:00Z",  # groups done
    "2018-07-07T23:00:00Z",  # quarter-finals done
    "2018-07-20T00:00:00Z",  # after the final, before the "2022" World Cup
)
_OFFSET = re.compile(r"(\d{1,2}):(\d{2})\s+UTC([+-]\d{1,2})")
# Every instant above is at least this long after any kick-off it counts as played.
_OVER = timedelta(hours=3)


def _kickoff(raw: dict) -> datetime:
    hours, minutes, offset = _OFFSET.fullmatch(raw["time"]).groups()  # type: ignore[union-attr]
    local = datetime.fromisoformat(f"{raw['date']}T{int(hours):02d}:{minutes}:00")
    return (local - timedelta(hours=int(offset))).replace(tzinfo=UTC)


def _later_world_cup(tmp: Path) -> Path:
    """The 2014 World Cup moved eight years on, as "World Cup 2022": the same national
    teams playing after 2018, which a clock in 2018 must not know about."""
    data = json.loads((DATA / "worldcup-2014.json").read_text())
    data["name"] = "World Cup 2022"
    for m in data["matches"]:
        m["date"] = str(int(m["date"][:4]) + 8) + m["date"][4:]
    path = tmp / "worldcup-2022.json"
    path.write_text(json.dumps(data))
    return path


def _all_matches(files: list[Path]) -> list[tuple[datetime, dict]]:
    found = []
    for path in files:
        for m in json.loads(path.read_text())["matches"]:
            if m.get("score", {}).get("ft") is not None and "UTC" in m.get("time", ""):
                found.append((_kickoff(m), m))
    return found


def _expected(matches: list[tuple[datetime, dict]], team: str, now: datetime) -> tuple:
    """(last five "Home a–b Away" newest first, the last match's scorers in minute order)."""
    played = sorted(
        ((k, m) for k, m in matches if team in (m["team1"], m["team2"]) and k + _OVER <= now),
        key=lambda km: km[0],
        reverse=True,
    )
    lines = []
    for _, m in played[:5]:
        a, b = m["score"].get("et") or m["score"]["ft"]
        lines.append(f"{m['team1']} {a}–{b} {m['team2']}")
    scorers: list[str] = []
    if played:
        last = played[0][1]
        goals = [*last.get("goals1", []), *last.get("goals2", [])]
        goals.sort(key=lambda g: (int(g["minute"]), int(g.get("offset") or 0)))
        scorers = [g["name"] for g in goals]
    return lines, scorers


def _in_2018(raw: dict) -> bool:
    return raw["date"].startswith("2018")


def _replies(stdout: str) -> list[str]:
    return [r for r in stdout.split("\n\n") if r.strip()]


def _agrees(results: str, scorers: str, expected: tuple) -> tuple[bool, bool]:
    lines, names = expected
    if not lines:
        return results.strip() == "No results yet.", "have not played yet" in scorers
    got = results.splitlines()[1:]
    results_ok = len(got) == len(lines) and all(
        want in line for want, line in zip(lines, got, strict=False)
    )
    head, *goal_lines = scorers.splitlines()
    said = [re.sub(r"^⚽ (.+?) \d+(\+\d+)?'.*$", r"\1", g) for g in goal_lines]
    scorers_ok = head.startswith(lines[0]) and (said == names or (not names and not said[1:]))
    return results_ok, scorers_ok


@pytest.mark.timeout(600)
async def test_every_2018_team_as_of_each_instant_with_other_seasons_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "audit.db"
    monkeypatch.setenv("MATCHDAY_DB", str(db))
    monkeypatch.chdir(tmp_path)
    later = _later_world_cup(tmp_path)
    sources = [DATA / "worldcup-2014.json", DATA / "en.1-2024-25.json", later]
    assert await asyncio.to_thread(main, ["import", *map(str, sources)]) == 0

    bundled = DATA / "worldcup-2018.json"
    matches = _all_matches([bundled, DATA / "worldcup-2014.json", later])
    teams = sorted({m["team1"] for _, m in matches if m.get("group") and _in_2018(m)})
    asked = agreed = 0
    wrong: list[str] = []
    for instant in INSTANTS:
        now = datetime.fromisoformat(instant)
        script = "".join(f"/results {t}\n/scorers {t}\n" for t in teams)
        done = await asyncio.to_thread(matchday, ["console", "--now", instant], script, db)
        assert done.returncode == 0, done.stderr
        replies = _replies(done.stdout)
        assert len(replies) == 2 * len(teams), done.stdout[-2000:]
        for i, team in enumerate(teams):
            oks = _agrees(replies[2 * i], replies[2 * i + 1], _expected(matches, team, now))
            for what, ok in zip(("results", "scorers"), oks, strict=True):
                asked += 1
                agreed += ok
                if not ok:
                    wrong.append(f"{instant} {what} {team}")
    print(f"\naudit: {agreed}/{asked} answers agree")
    assert agreed == asked, wrong[:10]
