"""One Discord gateway session per bot, whatever the number of replicas.

Discord sends every event (slash commands, button presses) to every session of an unsharded
bot, and a bot gets one session per shard: two replicas each holding a session would both
answer every command (two messages, or two interaction responses racing, the second refused
with 40060 "Interaction has already been acknowledged"). So the gateway is a singleton role,
``gateway:discord``, held like ``engine`` (storage/leadership.py): a replica takes it before
it connects; a standby asks again every `STANDBY_POLL` seconds and connects once the holder
is gone (its lock session ends with it, so a SIGKILL is taken over within seconds). The
holder asks too, as a check that its lock session is alive: a lost one stops the process
(exit 75, `Core.holds`) before a standby can open a second session.

Everything else of Discord works on every replica, holder or not: login (REST) and so the
alert sender, which follows ``delivery:discord``, not the gateway. Slash commands are
registered by the holder only, as it connects: the commands Discord shows are then those of
the process that answers them (a standby of an older or newer version, starting in a rolling
deploy, does not overwrite them), and replicas do not multiply a bulk overwrite that Discord
rate-limits per application. On SQLite the one process holds every role: nothing waits.
"""

from __future__ import annotations

import asyncio
import logging

from bot.core import Core
from storage.leadership import LeadershipLost

log = logging.getLogger("matchday.discord")

GATEWAY = "gateway:discord"
STANDBY_POLL = 2.0  # seconds between a standby's asks, and the holder's checks


async def take_gateway(core: Core) -> None:
    """Until this replica holds the gateway role (at once on SQLite, or when it is free)."""
    said = False
    while not await core.holds(GATEWAY):
        if not said:
            log.info("standing by for the Discord gateway (another replica holds it); "
                     "asking again every %.0f s", STANDBY_POLL)  # fmt: skip
            said = True
        await asyncio.sleep(STANDBY_POLL)


async def keep_gateway(core: Core) -> None:
    """While connected, check every `STANDBY_POLL` seconds that the role is still ours.

    A lost lock session raises in `Core.holds`, which stops the process; a role reported
    not held (no lock backend does that while its session lives) is treated the same, as
    a standby may be opening its session now.
    """
    while True:
        await asyncio.sleep(STANDBY_POLL)
        if not await core.holds(GATEWAY):
            core.on_leadership_lost(LeadershipLost(f"{GATEWAY} is no longer held here"))
            return
