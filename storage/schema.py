"""Schema migrations, applied in order by `PRAGMA user_version`."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: matches, teams, chats, follows and the alert ledger.
    """
    CREATE TABLE competitions (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL
    );
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        folded TEXT NOT NULL UNIQUE,
        code TEXT
    );
    CREATE INDEX teams_code ON teams(code);
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        competition_id INTEGER NOT NULL REFERENCES competitions(id),
        stage TEXT NOT NULL,
        grp TEXT,
        kickoff TEXT NOT NULL,
        home_id INTEGER NOT NULL REFERENCES teams(id),
        away_id INTEGER NOT NULL REFERENCES teams(id),
        venue TEXT,
        status TEXT NOT NULL,
        score_home INTEGER, score_away INTEGER,
        ht_home INTEGER, ht_away INTEGER,
        ft_home INTEGER, ft_away INTEGER,
        et_home INTEGER, et_away INTEGER,
        pen_home INTEGER, pen_away INTEGER,
        minute INTEGER,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX matches_kickoff ON matches(kickoff);
    CREATE INDEX matches_home ON matches(home_id, kickoff);
    CREATE INDEX matches_away ON matches(away_id, kickoff);
    CREATE INDEX matches_competition ON matches(competition_id, grp);
    CREATE INDEX matches_status ON matches(status, kickoff);
    CREATE TABLE goals (
        match_id INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        side INTEGER NOT NULL CHECK (side IN (1, 2)),
        minute INTEGER NOT NULL,
        stoppage INTEGER NOT NULL DEFAULT 0,
        scorer TEXT,
        penalty INTEGER NOT NULL DEFAULT 0,
        own_goal INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (match_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX goals_scorer ON goals(scorer);
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        external_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        title TEXT,
        timezone TEXT NOT NULL,
        reminders TEXT NOT NULL DEFAULT '30',
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        UNIQUE (platform, external_id)
    );
    CREATE TABLE follows (
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('team', 'competition')),
        target_id INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (chat_id, kind, target_id)
    ) WITHOUT ROWID;
    CREATE INDEX follows_target ON follows(kind, target_id);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        match_id INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
        event TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        sent_at TEXT,
        message_id INTEGER,
        last_error TEXT,
        UNIQUE (chat_id, match_id, event)
    );
    CREATE INDEX alerts_pending ON alerts(id) WHERE status = 'pending';
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: standings read every column they need from one index, in competition order,
    #    instead of looking up each of a competition's matches in the table.
    """
    DROP INDEX matches_competition;
    CREATE INDEX matches_competition ON matches(
        competition_id, grp, status, home_id, away_id, score_home, score_away
    );
    """,
    # 3: a ledger that stays small and cheap to report on. Settled rows are pruned by age
    #    (MATCHDAY_LEDGER_DAYS) along (status, sent_at), which also gives /stats its counts
    #    and the send rate without reading the table; the last errors and inactive chats come
    #    from partial indexes of the few rows concerned; and the reminder-expiry update of a
    #    match finds that match's rows instead of scanning the ledger.
    """
    CREATE INDEX alerts_match ON alerts(match_id);
    CREATE INDEX alerts_status ON alerts(status, sent_at);
    CREATE INDEX alerts_errors ON alerts(id) WHERE last_error IS NOT NULL;
    CREATE INDEX chats_inactive ON chats(id) WHERE active = 0;
    """,
    # 4: delivery claims rows (status 'sending') and takes each chat's oldest open row: find
    #    it with one index seek, however much sent history the chat has.
    """
    CREATE INDEX alerts_open ON alerts(chat_id, id) WHERE status IN ('pending', 'sending');
    """,
    # 5: migration 3's two full indexes grew with every pending row a goal's fan-out inserts
    #    (measured: they doubled the insert of 100,000 rows, with an IN list in a partial
    #    index's WHERE, which SQLite rebuilds for every row). Every ledger index is now
    #    partial, over states a fresh pending row is not in: sent rows by `sent_at` (counts,
    #    the send rate, pruning; `status` is a column so that counts need not read the table),
    #    the rarer settled states (counts, pruning; ORs, not IN), rows being sent (a claim
    #    puts them there, not the insert: the count, and the reset at start), and reminders
    #    by match for the expiry update at kick-off.
    """
    DROP INDEX alerts_status;
    CREATE INDEX alerts_sending ON alerts(chat_id) WHERE status = 'sending';
    DROP INDEX alerts_match;
    CREATE INDEX alerts_sent ON alerts(status, sent_at) WHERE status = 'sent';
    CREATE INDEX alerts_settled ON alerts(status, created_at)
        WHERE (status = 'failed' OR status = 'expired' OR status = 'inactive');
    CREATE INDEX alerts_match ON alerts(match_id) WHERE event LIKE 'reminder:%';
    """,
    # 6: what feeds with match events report (API-Football): a goal's assist, and red
    #    cards, missed penalties and VAR decisions, replaced with the match like its goals.
    """
    ALTER TABLE goals ADD COLUMN assist TEXT;
    CREATE TABLE incidents (
        match_id INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        side INTEGER NOT NULL CHECK (side IN (1, 2)),
        minute INTEGER NOT NULL,
        stoppage INTEGER NOT NULL DEFAULT 0,
        player TEXT,
        detail TEXT,
        PRIMARY KEY (match_id, seq)
    ) WITHOUT ROWID;
    """,
    # 7: the source of truth the replay feed tells on the clock (imported seasons whole, as
    #    JSON), apart from `matches`, which holds only what was observed by `now`. Teams:
    #    one name is one team only within a scope (a league's country, or "international"
    #    for national teams), so Nacional of Uruguay and of Portugal stay two; placeholder
    #    sides ("Winner Group A") are no team a fan can name or follow; `team_names` keeps
    #    the other names a team came under ("Korea Republic" for South Korea). SQLite cannot
    #    drop the old UNIQUE(folded), so the table is rebuilt (foreign keys off meanwhile).
    """
    CREATE TABLE source_matches (
        key TEXT PRIMARY KEY,
        competition TEXT NOT NULL,
        state TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE teams_new (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        folded TEXT NOT NULL,
        code TEXT,
        scope TEXT NOT NULL DEFAULT '',
        placeholder INTEGER NOT NULL DEFAULT 0,
        UNIQUE (scope, folded)
    );
    INSERT INTO teams_new(id, name, folded, code) SELECT id, name, folded, code FROM teams;
    DROP TABLE teams;
    ALTER TABLE teams_new RENAME TO teams;
    CREATE INDEX teams_code ON teams(code);
    CREATE INDEX teams_folded ON teams(folded);
    CREATE TABLE team_names (
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        folded TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (team_id, folded)
    ) WITHOUT ROWID;
    """,
]
