"""One team is one team, and two are never one: codes collide across countries and sources,
names repeat across countries; only among national teams is a FIFA code a useful hint."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.test_cli import matchday


def _legacy(name: str, *matches: tuple[str, str, str, str, str, list[int]]) -> dict:
    """A legacy-format file: matches as (date, team1, code1, team2, code2, [score1, score2])."""
    return {
        "name": name,
        "rounds": [
            {
                "name": "Matchday 1",
                "matches": [
                    {
                        "date": date,
                        "time": "15:00 UTC+0",
                        "team1": {"name": t1, "code": c1},
                        "team2": {"name": t2, "code": c2},
                        "score1": score[0],
                        "score2": score[1],
                    }
                    for date, t1, c1, t2, c2, score in matches
                ],
            }
        ],
    }


def _write(tmp: Path, filename: str, data: dict) -> str:
    path = tmp / filename
    path.write_text(json.dumps(data))
    return str(path)


def test_clubs_sharing_a_code_or_a_name_stay_apart(tmp_path: Path) -> None:
    files = [
        _write(tmp_path, "en.1.json", _legacy(
            "Premier League", ("2024-08-17", "Liverpool FC", "LIV", "Arsenal FC", "ARS", [2, 0]))),
        _write(tmp_path, "sco.1.json", _legacy(
            "Scottish Premiership", ("2024-08-18", "Livingston FC", "LIV", "Celtic FC", "CEL",
                                     [0, 3]))),
        _write(tmp_path, "it.1.json", _legacy(
            "Serie A", ("2024-08-19", "Inter", "INT", "Milan", "MIL", [1, 1]))),
        _write(tmp_path, "br.1.json", _legacy(
            "Brasileirão", ("2024-08-20", "Internacional", "INT", "Grêmio", "GRE", [2, 1]))),
        _write(tmp_path, "uy.1.json", _legacy(
            "Primera División", ("2024-08-21", "Nacional", "NAC", "Peñarol", "PEN", [1, 0]))),
        _write(tmp_path, "pt.1.json", _legacy(
            "Primeira Liga", ("2024-08-22", "Nacional", "NAC", "Benfica", "BEN", [0, 2]))),
    ]  # fmt: skip
    db = tmp_path / "clubs.db"
    done = matchday(["import", *files], "", db)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM teams ORDER BY name")]
    assert names.count("Nacional") == 2 and len(names) == 12, names

    script = "/score Livingston\n/score Liverpool\n/score Internacional\n/score Inter\n"
    said = matchday(["console", "--now", "2024-09-01T00:00:00Z"], script, db).stdout
    replies = [r for r in said.split("\n\n") if r.strip()]
    assert "Livingston FC 0–3 Celtic FC" in replies[0]
    assert "Liverpool FC 2–0 Arsenal FC" in replies[1]
    assert "Internacional 2–1 Grêmio" in replies[2]
    assert "Inter 1–1 Milan" in replies[3]
    # Two teams called Nacional: the bot asks which one.
    ask = matchday(["console", "--now", "2024-09-01T00:00:00Z"], "/score Nacional\n", db).stdout
    assert ask.count("[Nacional]") == 2, ask


def test_a_national_team_under_another_name_is_one_team_by_its_fifa_code(tmp_path: Path) -> None:
    later = _legacy(
        "World Cup 2022",
        ("2022-11-24", "Uruguay", "URU", "Korea Republic", "KOR", [0, 0]),
    )
    db = tmp_path / "nat.db"
    source = _write(tmp_path, "worldcup-2022.json", later)
    assert matchday(["import", source], "", db).returncode == 0
    # The bundled 2018 World Cup (replayed by the console) says "South Korea", code KOR.
    said = matchday(["console", "--now", "2022-12-01T00:00:00Z"], "/results KOR\n", db)
    assert "Uruguay 0–0 Korea Republic" in said.stdout, said.stdout
    assert "Germany" in said.stdout  # 2018's South Korea 2–0 Germany: the same team
