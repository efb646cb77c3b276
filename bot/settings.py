"""Settings from the environment or `.env`; the contract is listed in the README."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from handlers.zones import usable_zone
from storage.db import engine_of

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_FOOTBALL_DATA_URL = "https://api.football-data.org/v4"
DEFAULT_DISCORD_API_URL = "https://discord.com/api/v10"
DEFAULT_DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_API_FOOTBALL_URL = "https://v3.football.api-sports.io"
FEEDS = ("replay", "football-data", "api-football")


class SettingsError(ValueError):
    """A setting has a value we cannot run with; the message names it (never its secret)."""


@dataclass(frozen=True)
class Settings:
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = DEFAULT_API_URL
    # A SQLite path or a postgresql:// URL, which may carry a password: not in the repr
    # (a traceback or a debug print of the settings would show it); `database_shown` is safe.
    db_path: str = field(default="matchday.db", repr=False)
    db_given: bool = False  # MATCHDAY_DB was set (else --now runs on a throwaway copy)
    timezone: str = "UTC"
    feed: str = "replay"
    football_data_token: str | None = field(default=None, repr=False)
    football_data_url: str = DEFAULT_FOOTBALL_DATA_URL
    football_data_competitions: tuple[str, ...] = ()
    football_data_rate: int = 10
    api_football_key: str | None = field(default=None, repr=False)
    api_football_url: str = DEFAULT_API_FOOTBALL_URL
    api_football_leagues: tuple[tuple[int, int], ...] = ()  # (league id, season)
    max_send_rate: float = 30.0
    admins: frozenset[int] = frozenset()
    poll_seconds: float = 30.0
    http_transport: str = "aiohttp"
    discord_token: str | None = field(default=None, repr=False)
    discord_api_url: str = DEFAULT_DISCORD_API_URL
    discord_gateway_url: str = DEFAULT_DISCORD_GATEWAY_URL
    ledger_days: float = 30.0
    log_format: str = "text"
    metrics_listen: tuple[str, int] | None = None  # (host, port) for /healthz and /metrics
    webhook_url: str | None = None  # webhook mode when set; long polling otherwise
    webhook_listen: tuple[str, int] = ("0.0.0.0", 8080)
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def database_shown(self) -> str:
        """`db_path` as a log line or a message may show it: a URL's password as `***`."""
        from storage.postgres import redact

        return redact(self.db_path) if "://" in self.db_path else self.db_path

    @property
    def database_passwords(self) -> list[str]:
        """The password a postgresql:// `MATCHDAY_DB` carries, each spelling (for the log
        scrubber); empty for a SQLite path."""
        from storage.postgres import database_passwords

        return database_passwords(self.db_path) if "://" in self.db_path else []

    @classmethod
    def load(cls, env: dict[str, str] | None = None, dotenv: str | Path = ".env") -> Settings:
        """Environment wins over `.env`, so a deployment can override a checked-out file."""
        values: dict[str, str] = {}
        if env is None:
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
            values.update(os.environ)
        else:
            values.update(env)

        def get(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        zone = get("MATCHDAY_TIMEZONE") or "UTC"
        # Every new chat gets this zone: only names tzdata ships, which load on every host
        # (`localtime` loads here and perhaps nowhere else), as /timezone accepts.
        if not usable_zone(zone):
            raise SettingsError(
                f"MATCHDAY_TIMEZONE: unknown time zone {zone!r} (an IANA name such as "
                "Europe/Brussels)"
            )
        database = get("MATCHDAY_DB")
        if database is not None:
            try:  # a URL of an engine we do not speak: refused before anything is created
                engine_of(database)
            except ValueError as exc:
                raise SettingsError(str(exc)) from exc
        feed = get("MATCHDAY_FEED") or "replay"
        if feed not in FEEDS:
            raise SettingsError("MATCHDAY_FEED must be 'replay', 'football-data' or 'api-football'")
        transport = get("MATCHDAY_HTTP") or "aiohttp"
        if transport not in {"aiohttp", "httpx"}:
            raise SettingsError("MATCHDAY_HTTP must be 'aiohttp' or 'httpx'")
        log_format = get("MATCHDAY_LOG_FORMAT") or "text"
        if log_format not in {"text", "json"}:
            raise SettingsError("MATCHDAY_LOG_FORMAT must be 'text' or 'json'")
        webhook_url = get("MATCHDAY_WEBHOOK_URL")
        target = urlsplit(webhook_url or "")
        if webhook_url and (target.scheme not in {"http", "https"} or not target.netloc):
            raise SettingsError(
                "MATCHDAY_WEBHOOK_URL must be the public https:// URL Telegram posts updates to"
            )
        webhook_secret = get("MATCHDAY_WEBHOOK_SECRET")
        if webhook_secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", webhook_secret):
            raise SettingsError(
                "MATCHDAY_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        return cls(
            telegram_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_api_url=(get("TELEGRAM_API_URL") or DEFAULT_API_URL).rstrip("/"),
            db_path=database or "matchday.db",
            db_given=database is not None,
            timezone=zone,
            feed=feed,
            football_data_token=get("FOOTBALL_DATA_TOKEN"),
            football_data_url=(get("FOOTBALL_DATA_URL") or DEFAULT_FOOTBALL_DATA_URL).rstrip("/"),
            football_data_competitions=tuple(
                code.strip().upper()
                for code in (get("FOOTBALL_DATA_COMPETITIONS") or "").split(",")
                if code.strip()
            ),
            football_data_rate=int(
                _positive(get("FOOTBALL_DATA_RATE"), "FOOTBALL_DATA_RATE", 10.0)
            ) or 1,
            api_football_key=get("API_FOOTBALL_KEY"),
            api_football_url=(get("API_FOOTBALL_URL") or DEFAULT_API_FOOTBALL_URL).rstrip("/"),
            api_football_leagues=_leagues(get("API_FOOTBALL_LEAGUES")),
            max_send_rate=_positive(get("MATCHDAY_MAX_SEND_RATE"), "MATCHDAY_MAX_SEND_RATE", 30.0),
            admins=frozenset(_ids(get("MATCHDAY_ADMINS"))),
            poll_seconds=_positive(get("MATCHDAY_POLL_SECONDS"), "MATCHDAY_POLL_SECONDS", 30.0),
            http_transport=transport,
            discord_token=get("DISCORD_BOT_TOKEN"),
            discord_api_url=(get("DISCORD_API_URL") or DEFAULT_DISCORD_API_URL).rstrip("/"),
            discord_gateway_url=_gateway_url(get("DISCORD_GATEWAY_URL")),
            ledger_days=_positive(get("MATCHDAY_LEDGER_DAYS"), "MATCHDAY_LEDGER_DAYS", 30.0),
            log_format=log_format,
            metrics_listen=_listen(get("MATCHDAY_METRICS_LISTEN"), "MATCHDAY_METRICS_LISTEN"),
            webhook_url=webhook_url,
            webhook_listen=_listen(get("MATCHDAY_WEBHOOK_LISTEN"), "MATCHDAY_WEBHOOK_LISTEN")
            or ("0.0.0.0", 8080),
            webhook_secret=webhook_secret,
        )


def _positive(raw: str | None, name: str, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if not value > 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return value


def _leagues(raw: str | None) -> tuple[tuple[int, int], ...]:
    """API_FOOTBALL_LEAGUES: `league:season` pairs, e.g. `1:2026,39:2025` (the World Cup 2026,
    the Premier League 2025/26). API-Football needs the season with every league."""
    pairs: list[tuple[int, int]] = []
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        league, sep, season = part.strip().partition(":")
        if not (sep and league.strip().isdigit() and season.strip().isdigit()):
            raise SettingsError(
                f"API_FOOTBALL_LEAGUES takes league:season pairs, e.g. 1:2026,39:2025; got {part!r}"
            )
        pairs.append((int(league), int(season)))
    return tuple(dict.fromkeys(pairs))


def _listen(raw: str | None, name: str) -> tuple[str, int] | None:
    """`host:port` (or `[::1]:port`) for a server this process listens on; unset is off."""
    if raw is None:
        return None
    host, _, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name} must be host:port, e.g. 127.0.0.1:9108, got {raw!r}")
    return host, int(port)


def _ids(raw: str | None) -> list[int]:
    try:
        return [int(part) for part in (raw or "").replace(" ", "").split(",") if part]
    except ValueError as exc:
        raise SettingsError("MATCHDAY_ADMINS must be comma-separated numeric user ids") from exc


def _gateway_url(raw: str | None) -> str:
    """The websocket gateway as discord.py dials it: a ws(s) URL; it adds the query itself."""
    url = raw or DEFAULT_DISCORD_GATEWAY_URL
    if not url.startswith(("wss://", "ws://")):
        raise SettingsError(f"DISCORD_GATEWAY_URL must be a wss:// or ws:// URL, got {url!r}")
    return url
