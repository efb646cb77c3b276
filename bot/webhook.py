"""Webhook mode: Telegram POSTs updates to `MATCHDAY_WEBHOOK_URL` instead of being polled.

PTB's own webhook server does the listening and answers 403 to any request whose
`X-Telegram-Bot-Api-Secret-Token` is not ours; this module only settles which secret that is.
"""

from __future__ import annotations

import secrets

from bot.settings import Settings
from storage.store import Store

SECRET_KEY = "webhook.secret"


async def webhook_secret(settings: Settings) -> str:
    """The configured secret, else the one generated on first use and kept in the database,
    so a restart registers the same one and a request signed before it still passes.
    Replicas starting at once agree on it: the first one stored wins, the others read it."""
    if settings.webhook_secret:
        return settings.webhook_secret
    store = await Store.open(settings.db_path)
    try:
        stored = await store.get_meta(SECRET_KEY)
        if stored:
            return stored
        generated = secrets.token_urlsafe(32)  # 43 characters of [A-Za-z0-9_-], as Telegram takes
        return await store.settle_meta(SECRET_KEY, generated)
    finally:
        await store.close()
