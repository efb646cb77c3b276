"""`matchday [run|console|import|stats|backup]` — the command-line contract in DESIGN.md."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from bot.clock import Clock, parse_instant
from bot.logs import setup_logging
from bot.settings import Settings, SettingsError


def _instant(text: str):  # type: ignore[no-untyped-def]
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO-8601 instant: {text!r} (e.g. 2018-07-03T12:00:00Z)"
        ) from exc


def _zone(text: str) -> str:
    from feeds.zones import zone

    if zone(text) is None:
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r} (an IANA name such as Europe/London, or UTC+3)"
        )
    return text.strip()


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"speed must be a positive number, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="matchday",
        description="Football scores and alerts for Telegram and Discord. Without a command: "
        "`run` when TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN is set, else `console`.",
    )
    root.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = root.add_subparsers(dest="command")
    for name, text in (
        ("run", "the bot: Telegram (long polling, or a webhook with MATCHDAY_WEBHOOK_URL) "
                "and/or Discord, as the tokens say"),
        ("console", "the same bot in this terminal, no token or network needed"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--now", type=_instant, help="start the clock at this ISO-8601 instant")
        p.add_argument("--speed", type=_speed, default=1.0, help="clock speed (default 1)")
        if name == "console":
            p.add_argument("--linger", type=float, default=0.0,
                           help="after stdin ends, keep running this many seconds")  # fmt: skip
    imp = sub.add_parser("import", help="load openfootball JSON files or URLs into the store")
    imp.add_argument(
        "--timezone",
        type=_zone,
        metavar="ZONE",
        help="the zone of kick-off times written without an offset, e.g. Europe/London "
        "(default: guessed from the file name, en.1.json → Europe/London, else UTC)",
    )
    imp.add_argument("sources", nargs="+", metavar="SOURCE")
    sub.add_parser("stats", help="the alert ledger's counts and last errors")
    backup = sub.add_parser(
        "backup", help="a consistent copy of the SQLite database, safe while the bot runs"
    )
    backup.add_argument("path", metavar="PATH", help="where to write the copy")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(f"matchday: {exc}", file=sys.stderr)
        return 2
    setup_logging(
        logging.DEBUG if args.verbose else logging.INFO,
        [
            settings.telegram_token,
            settings.football_data_token,
            settings.discord_token,
            settings.api_football_key,
            *settings.database_passwords,
        ],
        json_lines=settings.log_format == "json",
    )
    command = args.command or (
        "run" if settings.telegram_token or settings.discord_token else "console"
    )
    clock = Clock(getattr(args, "now", None), getattr(args, "speed", 1.0))
    travel: AbstractContextManager[Settings] = nullcontext(settings)
    if command in {"run", "console"} and getattr(args, "now", None) and not settings.db_given:
        from bot.timetravel import throwaway

        travel = throwaway(settings)
    try:
        with travel as settings:
            return _command(command, args, settings, clock)
    except SettingsError as exc:
        print(f"matchday: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`matchday console | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _command(command: str, args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """Run one subcommand with the settings it gets (perhaps a throwaway database's)."""
    if command == "run" and settings.discord_token and not settings.telegram_token:
        from bot.discord import run_discord

        asyncio.run(run_discord(settings, clock))
        return 0
    if command == "run":  # Telegram, and Discord beside it when DISCORD_BOT_TOKEN is set
        from bot.app import build_application

        application = build_application(settings, clock)
        if settings.webhook_url is None:
            application.run_polling(drop_pending_updates=False)
            return 0
        from urllib.parse import urlsplit

        from bot.webhook import webhook_secret

        host, port = settings.webhook_listen
        application.run_webhook(
            listen=host, port=port, url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url, drop_pending_updates=False,
            secret_token=asyncio.run(webhook_secret(settings)),
        )  # fmt: skip
        return 0
    if command == "console":
        from bot.console import run_console

        if not args.verbose:
            logging.getLogger().setLevel(logging.WARNING)
        asyncio.run(run_console(settings, clock, getattr(args, "linger", 0.0)))
        return 0
    if command == "import":
        from bot.importer import run_import

        return asyncio.run(run_import(settings, args.sources, args.timezone))
    if command == "backup":
        return _backup(settings.db_path, args.path)
    from bot.importer import print_stats

    return asyncio.run(print_stats(settings))


def _backup(database: str, path: str) -> int:
    from bot.backup import BackupError, backup_database

    try:
        report = backup_database(database, path)
    except BackupError as exc:
        print(f"matchday backup: {exc}", file=sys.stderr)
        return 1
    print(
        f"Backed up {database} to {report.path}: {report.size / 2**20:.1f} MiB, "
        f"{report.matches} matches, {report.alerts} alerts."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
