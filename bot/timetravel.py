"""`--now` without MATCHDAY_DB: a throwaway database, so the demo works every time.

A clock started in the past replays history, and the alert ledger (one row per chat, match
and event) remembers what it already sent: run the README's live demo twice on one database
and the second run answers "already follows Japan" and sends nothing. So when `--now` is
given and no MATCHDAY_DB is set, the bot runs on a copy of the default database without its
chats, follows and alerts — the imported seasons come along, the past is replayed afresh —
and the copy is deleted when the bot stops. Set MATCHDAY_DB to keep what happens.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path

from bot.settings import Settings
from storage.db import engine_of

# What belongs to one run rather than to the football: the chats, and what was observed
# (the replay tells the bundled and imported matches again, from this run's clock).
_PER_RUN = ("DELETE FROM alerts", "DELETE FROM follows", "DELETE FROM chats",
            "DELETE FROM goals", "DELETE FROM matches",
            "DELETE FROM meta WHERE key LIKE 'engine.%'")  # fmt: skip


@contextmanager
def throwaway(settings: Settings) -> Iterator[Settings]:
    """Settings on a temporary copy of the default database (see the module docstring).
    A PostgreSQL URL is always one the operator gave (MATCHDAY_DB): used as it is."""
    if engine_of(settings.db_path) == "postgresql":
        yield settings
        return
    with tempfile.TemporaryDirectory(prefix="matchday-") as folder:
        copy = Path(folder) / "matchday.db"
        source = Path(settings.db_path)
        if source.is_file():
            read_only = f"{source.resolve().as_uri()}?mode=ro"  # a path with ? or # intact
            with closing(sqlite3.connect(read_only, uri=True)) as src, closing(
                sqlite3.connect(copy)
            ) as dst:
                src.backup(dst)
                for statement in _PER_RUN:
                    try:
                        dst.execute(statement)
                    except sqlite3.OperationalError:
                        pass  # a table this database does not have yet: nothing to clear
                dst.commit()
        print(
            f"matchday: --now without MATCHDAY_DB: a throwaway copy of {source} "
            "(imported seasons kept, chats and alerts fresh); set MATCHDAY_DB to keep it.",
            file=sys.stderr,
        )
        yield replace(settings, db_path=str(copy))
