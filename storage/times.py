"""Instants as the store writes them: UTC text whose string order is time order."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(moment: datetime) -> str:
    """UTC as fixed-width text, so SQLite's string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)  # 3.11 reads the trailing Z as UTC
