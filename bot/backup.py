"""`matchday backup PATH`: a consistent copy of the SQLite store while the bot keeps running.

SQLite's online backup API copies page by page and restarts a step when a writer changes a
page it already copied, so the copy is one committed state of the database: every row
committed before the backup finished, none half-written. The copy is written beside PATH
and renamed over it only once checked, so a failed backup never leaves a broken file at PATH.

A PostgreSQL store (`MATCHDAY_DB=postgresql://…`) is backed up with PostgreSQL's own tools
(`pg_dump -Fc`, restored with `pg_restore`); this command says so rather than guess.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.db import engine_of
from storage.sqlite import online_backup

PAGES_PER_STEP = 1024  # 4 MiB at SQLite's default page size: short read locks, few restarts


class BackupError(Exception):
    """The backup could not be made; the message says why, and PATH is untouched."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size: int
    matches: int
    alerts: int


def backup_database(source: str | Path, target: str | Path) -> BackupReport:
    """Copy `source` to `target` consistently; raises BackupError with a reason otherwise."""
    try:
        engine = engine_of(str(source))
    except ValueError as exc:
        raise BackupError(str(exc)) from None
    if engine == "postgresql":  # the URL is not repeated: it may carry a password
        raise BackupError(
            "MATCHDAY_DB is a PostgreSQL database; `matchday backup` copies SQLite files. "
            "Back PostgreSQL up with its own tools: pg_dump -Fc -d \"$MATCHDAY_DB\" -f "
            "matchday.dump (restore with pg_restore --clean -d \"$MATCHDAY_DB\" matchday.dump)"
        )
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("the backup path is the database itself")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    try:
        matches, alerts = online_backup(source, partial, PAGES_PER_STEP)
        os.replace(partial, target)
    except ValueError as exc:
        raise BackupError(f"the copy failed SQLite's check: {exc}") from exc
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy {source}: {exc}") from exc
    except OSError as exc:
        raise BackupError(f"could not write {target}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(target, target.stat().st_size, matches, alerts)

