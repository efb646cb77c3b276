"""Shared pieces: figures with targets, percentiles, machine description, synthetic data."""

from __future__ import annotations

import platform
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feeds.model import fold

BENCH_DIR = Path(__file__).resolve().parent
NOW = datetime(2018, 7, 3, 12, 0, tzinfo=UTC)


@dataclass
class Figure:
    """One measured number, optionally beside its target."""

    section: str
    name: str
    value: float
    unit: str
    target: float | None = None
    better: str = "higher"  # higher or lower
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value < self.target

    @property
    def margin(self) -> str:
        """How far from the target, as a ratio of it."""
        if self.target is None or self.target == 0:
            return ""
        if self.better == "higher":
            ratio = self.value / self.target
            return f"{ratio:.2f}× target" if ratio >= 1 else f"{(1 - ratio) * 100:.0f}% short"
        ratio = self.value / self.target
        if ratio < 1:
            return f"{(1 - ratio) * 100:.0f}% under"
        return f"{ratio:.1f}× over"

    def target_text(self) -> str:
        if self.target is None:
            return "—"
        op = "≥" if self.better == "higher" else "<"
        return f"{op} {fmt(self.target)} {self.unit}"

    def status(self) -> str:
        if self.met is None:
            return "info"
        return "met" if self.met else "MISSED"


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hotspots: list[str] = field(default_factory=list)

    def add(self, *args: object, **kw: object) -> Figure:
        fig = Figure(*args, **kw)  # type: ignore[arg-type]
        self.figures.append(fig)
        return fig

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)


def fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), nearest rank on sorted data."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    import aiosqlite
    import telegram

    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "Python": sys.version.split()[0] + f" ({platform.python_implementation()})",
        "python-telegram-bot": telegram.__version__,
        "aiosqlite": getattr(aiosqlite, "__version__", "?"),
        "SQLite": sqlite3.sqlite_version,
        "OS": platform.platform(),
        "PostgreSQL": _postgres_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _postgres_version() -> str:
    """The server the bench starts (bench/postgres_server.py finds it), or why there is none."""
    import subprocess

    from bench.postgres_server import ServerUnavailable, find_bindir

    try:
        postgres = find_bindir() / "postgres"
        return subprocess.run([str(postgres), "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"  # fmt: skip
    except (ServerUnavailable, OSError, subprocess.SubprocessError) as exc:
        return f"absent ({type(exc).__name__}): SQLite figures only"


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


# -- synthetic history ---------------------------------------------------------------------

SCALE = {"matches": 200_000, "goals": 500_000, "chats": 100_000, "follows": 300_000}
TEAMS_PER_LEAGUE = 20
LEAGUES = 100
SEASONS = 5  # each league-season is its own competition, as openfootball names them
SURNAMES = [
    "Silva", "Müller", "Kane", "Dupont", "Rossi", "García", "Novak", "Jensen", "Smith", "Kovač",
    "Haraguchi", "Inui", "Osei", "Mensah", "Larsen", "Nowak", "Popescu", "Ivanov", "Yilmaz",
    "Costa", "Fernández", "Bianchi", "Moreau", "Schmidt", "Kim", "Sato", "Ahmed", "Diallo",
]  # fmt: skip


def team_name(n: int) -> str:
    return f"Athletic {n:04d} FC"


def league_name(league: int, season: int) -> str:
    year = 2019 + season
    return f"Synthetic League {league:03d} {year}/{(year + 1) % 100:02d}"


MATCH_COLUMNS = (
    "id", "key", "competition_id", "stage", "grp", "kickoff", "home_id", "away_id", "venue",
    "status", "score_home", "score_away", "ht_home", "ht_away", "ft_home", "ft_away", "et_home",
    "et_away", "pen_home", "pen_away", "minute", "updated_at",
)  # fmt: skip
GOAL_COLUMNS = ("match_id", "seq", "side", "minute", "stoppage", "scorer", "penalty", "own_goal")
SYNTHETIC_TABLES = ("teams", "competitions", "chats", "matches")
Rows = dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]


def synthetic_rows(scale: dict[str, int], base: dict[str, int], seed: int = 7) -> tuple[Rows, int]:
    """Every synthetic row by table (its columns, its rows), numbered after the ids in `base`,
    and the synthetic world's "now" (epoch seconds): the same history for either engine.

    Leagues of 20 teams play per-season competitions; the last season is half played, so
    /next and /score both have answers.
    """
    rng = random.Random(seed)
    base_team, base_comp, base_chat = base["teams"], base["competitions"], base["chats"]
    n_teams = LEAGUES * TEAMS_PER_LEAGUE
    teams = [(base_team + i + 1, team_name(i + 1), fold(team_name(i + 1)), None)
             for i in range(n_teams)]  # fmt: skip
    comps = [(league, season) for league in range(LEAGUES) for season in range(SEASONS)]
    competitions = [(base_comp + i + 1, fold(league_name(lg, s)), league_name(lg, s))
                    for i, (lg, s) in enumerate(comps)]  # fmt: skip
    per_comp = max(1, scale["matches"] // len(comps))
    # about 90% of matches are played; int() of the exponential loses about half a goal
    goals_per_match = scale["goals"] / max(1, scale["matches"]) / 0.9 + 0.45
    season_start = datetime(2019, 8, 1, 15, 0, tzinfo=UTC)
    stamp = "2018-07-01T00:00:00Z"
    match_rows: list[tuple[Any, ...]] = []
    goal_rows: list[tuple[Any, ...]] = []
    match_id = base["matches"]
    # the "now" of the synthetic world: mid-way through the last season
    last_season_start = season_start + timedelta(days=365 * (SEASONS - 1))
    synthetic_now = last_season_start + timedelta(days=140)
    for ci, (league, season) in enumerate(comps):
        members = [base_team + league * TEAMS_PER_LEAGUE + k + 1 for k in range(TEAMS_PER_LEAGUE)]
        start = season_start + timedelta(days=365 * season)
        for k in range(per_comp):
            match_id += 1
            home, away = rng.sample(members, 2)
            kickoff = start + timedelta(days=k * 270 / per_comp, hours=(k % 10) // 3)
            played = kickoff < synthetic_now
            if played:
                n_goals = min(9, int(rng.expovariate(1 / goals_per_match)))
                sides = [rng.choice((1, 2)) for _ in range(n_goals)]
                sh, sa = sides.count(1), sides.count(2)
                minutes = sorted(rng.randint(1, 90) for _ in range(n_goals))
                for seq, (side, minute) in enumerate(zip(sides, minutes, strict=True)):
                    goal_rows.append(
                        (match_id, seq, side, minute, 0,
                         f"{rng.choice('ABCDEFGHJKLMNPRST')}. {rng.choice(SURNAMES)}",
                         int(rng.random() < 0.1), int(rng.random() < 0.03))
                    )  # fmt: skip
                status, score = "finished", (sh, sa)
            else:
                status, score = "scheduled", (None, None)
            match_rows.append(
                (match_id, f"syn:{league}:{season}:{k}", base_comp + ci + 1, "Regular season",
                 None, kickoff.strftime("%Y-%m-%dT%H:%M:%SZ"), home, away, f"Ground {home}",
                 status, score[0], score[1], None, None, None, None, None, None, None, None,
                 None, stamp)
            )  # fmt: skip
    zones = ["UTC", "Europe/London", "Europe/Brussels", "America/New_York", "Asia/Tokyo"]
    chats = [(base_chat + i + 1, "telegram", 10_000_000 + i, "private", f"Fan {i}",
              zones[i % len(zones)], "[30]", 1, stamp) for i in range(scale["chats"])]  # fmt: skip
    follows = set()
    per_chat = max(1, scale["follows"] // max(1, scale["chats"]))
    for i in range(scale["chats"]):
        for _ in range(per_chat):
            follows.add((base_chat + i + 1, base_team + rng.randint(1, n_teams)))
    rows: Rows = {
        "teams": (("id", "name", "folded", "code"), teams),
        "competitions": (("id", "slug", "name"), competitions),
        "matches": (MATCH_COLUMNS, match_rows),
        "goals": (GOAL_COLUMNS, goal_rows),
        "chats": (("id", "platform", "external_id", "kind", "title", "timezone", "reminders",
                   "active", "created_at"), chats),
        "follows": (("chat_id", "kind", "target_id", "created_at"),
                    [(c, "team", t, stamp) for c, t in sorted(follows)]),
    }  # fmt: skip
    return rows, int(synthetic_now.timestamp())


def build_synthetic(path: Path, scale: dict[str, int], seed: int = 7) -> dict[str, int]:
    """Fill a SQLite store file (schema already created by Store.open) with plain sqlite3.

    Returns the row counts written and `synthetic_now`."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    base = {t: db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0]
            for t in SYNTHETIC_TABLES}  # fmt: skip
    rows, synthetic_now = synthetic_rows(scale, base, seed)
    for table, (columns, values) in rows.items():
        marks = ", ".join("?" * len(columns))
        db.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({marks})", values)
    del rows
    db.execute("COMMIT")
    db.execute("ANALYZE")
    counts = _counts(lambda sql: db.execute(sql).fetchone()[0])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    counts["synthetic_now"] = synthetic_now
    return counts


async def build_synthetic_pg(url: str, scale: dict[str, int], seed: int = 7) -> dict[str, int]:
    """`build_synthetic` on a PostgreSQL store: the same rows, loaded with COPY."""
    import asyncpg

    from bench.engines import copy_rows, max_ids

    base = await max_ids(url, SYNTHETIC_TABLES)
    rows, synthetic_now = synthetic_rows(scale, base, seed)
    await copy_rows(url, rows, identities=SYNTHETIC_TABLES)
    del rows
    conn = await asyncpg.connect(url)
    try:
        found = {t: int(await conn.fetchval(f"SELECT COUNT(*) FROM {t}")) for t in _TABLES}
    finally:
        await conn.close()
    return {**found, "synthetic_now": synthetic_now}


_TABLES = ("matches", "goals", "chats", "follows", "teams", "competitions")


def _counts(scalar: Callable[[str], int]) -> dict[str, int]:
    return {table: scalar(f"SELECT COUNT(*) FROM {table}") for table in _TABLES}


def run_timed(label: str, fn: Callable[[], object]) -> float:
    t = Timer()
    fn()
    took = t.elapsed()
    print(f"  {label}: {took:.2f}s", flush=True)
    return took
