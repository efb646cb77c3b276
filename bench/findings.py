"""What the profiles point at in production code (hand-written; the figures above are live)."""

FINDINGS = """\
## Findings for production code (from the profiles; not fixed here)

1. **Delivery re-reads 2,000 pending rows after every single send** (worst miss, fan-out
   at 1,000/s delivers ~30–45/s). `Delivery._deliver` sets `_wake` in its `finally`
   (bot/delivery.py:247); `Delivery.run` (bot/delivery.py:178–190) then calls `_pending()`
   (bot/delivery.py:206–208) → `Store.pending_alerts(limit=2000)` (storage/store.py:699),
   which rebuilds 2,000 `PendingAlert` + `Chat` objects, `json.loads`-ing each chat's
   reminders in `_chat` (storage/store.py:127–137) — for rows that are almost all already
   in flight. `_wait_for_progress` (bot/delivery.py:196–204) also passes every task to
   `asyncio.wait`, adding a done-callback to up to 2,000 tasks per iteration.
   Fix: keep a cursor (`WHERE a.id > last_seen`) or refill only when in-flight work drops
   below a low-water mark; skip the reminders JSON for alert rows; wait on one
   completion event instead of `asyncio.wait` over all tasks. Next in line: `mark_sent`
   (storage/store.py:722) opens one `BEGIN IMMEDIATE` transaction per message — batch
   the settled rows (one UPDATE … WHERE id IN (…) per few ms).
2. **Name resolution folds every team name on every command.** `Target.folded` is a property
   (handlers/names.py:27–29) that calls `fold()` (feeds/model.py:95: NFKD + regex) each
   time; `resolve` (handlers/names.py:49, 56) evaluates it for all ~2,000 teams (twice when
   the exact pass misses), and `team_targets` (handlers/lookup.py:11) rebuilds the Target
   list per call although `Store.teams()` already caches `Team.folded`. Fix: carry the
   stored `folded` into `Target` (a field, not a property), cache the target list with the
   team cache, and index exact names / codes in a dict.
3. **/table loads a whole competition as MatchState objects.** `table` (handlers/tables.py:88)
   first resolves the "latest" competition (handlers/tables.py:96 → `results(limit=1)` and
   `groups`), then `competitions()` (storage/store.py:226, not cached, 500 rows) is read
   two or three times per call, and `competition_matches` (storage/store.py:341) builds
   ~400 MatchStates with all their goals (`_match`/`_goals`, `from_db` → `strptime`) only
   to sum W/D/L. Fix: cache competitions; compute standings in SQL (GROUP BY over
   score_home/score_away) or cache standings per competition, invalidated by `apply`.
4. **Store.apply does ~10 awaited round trips per match** (import ~430–700 matches/s vs
   20,000): per state `self.match(key)` (2 queries, storage/store.py:425), `_team_id` ×2
   and `_competition_id` (storage/store.py:448–450, each 1–2 queries), the upsert, a goal
   DELETE and an `executemany`, each a hop to aiosqlite's thread. Fix: prefetch existing
   matches for the batch by key (`WHERE key IN (…)`), memoise team / competition ids in
   dicts for the call, and do the writes with `executemany` — or run the whole batch as
   one synchronous function on the connection's thread.
5. **Alert latency** p50 is ~50–60 ms, p99 near or just over 100 ms on this loaded 2-core
   box. `LiveEngine.tick` (bot/engine.py:34–41) runs `set_meta` and the follows join in
   `queue_due_reminders` before calling `on_alerts()`; wake delivery right after `apply`
   commits (bot/engine.py:52) to take those off the critical path.

Round trip: Matchday beat the "bare PTB" floor in every run. The floor handler sends with
256 concurrent updates and no pacing, and throughput under that burst is lower than
Matchday's; the likely cause is contention on httpx's 128-connection pool and the shared
loop with the fake, but this was not investigated. Either way the 80% target is met.
Matchday as shipped answers 30 commands/s in total, because replies take tokens from the
same `RateGate(MATCHDAY_MAX_SEND_RATE=30)` as alerts (bot/telegram.py:134). That is
Telegram's global limit, so it is by design.
"""
