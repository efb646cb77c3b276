"""What the fake answers when a call fails: Telegram's error texts, scripted faults, and
the records of what it received."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

JSON = dict[str, Any]

CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class FakeApiError(Exception):
    """Raised inside method handlers; turned into an ``{"ok": false, ...}`` answer."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> FakeApiError:
    """Build a 400 with Telegram's "Bad Request: " prefix (PTB strips it again)."""
    if not description.startswith("Bad Request"):
        description = f"Bad Request: {description}"
    return FakeApiError(400, description)


@dataclass(frozen=True)
class FakeError:
    """A scripted fault for :meth:`FakeTelegram.fail_next`; build it with the factories."""

    kind: Literal["error", "timeout", "drop", "answer", "raw"]
    status: int = 200
    description: str = ""
    parameters: JSON | None = None
    delay: float = 0.0

    @classmethod
    def retry_after(cls, seconds: int) -> FakeError:
        """429 flood control, as PTB maps it to ``telegram.error.RetryAfter``."""
        return cls(
            "error", 429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
        )

    @classmethod
    def forbidden(cls, description: str = "Forbidden: bot was blocked by the user") -> FakeError:
        """403, e.g. the user blocked the bot or it was kicked from the group."""
        return cls("error", 403, description)

    @classmethod
    def migrate(cls, new_chat_id: int) -> FakeError:
        """400 with ``migrate_to_chat_id`` -> ``telegram.error.ChatMigrated``."""
        return cls(
            "error",
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )

    @classmethod
    def server_error(cls, status: int = 502, description: str | None = None) -> FakeError:
        """5xx from Telegram's frontend -> ``telegram.error.NetworkError``."""
        if description is None:
            try:
                description = HTTPStatus(status).phrase
            except ValueError:
                description = "Internal Server Error"
        return cls("error", status, description)

    @classmethod
    def bad_request(cls, description: str) -> FakeError:
        """Arbitrary 400; the "Bad Request: " prefix is added when missing."""
        return cls("error", 400, bad_request(description).description)

    @classmethod
    def timeout(cls, seconds: float) -> FakeError:
        """Process the call normally but hold the answer back ``seconds``.

        Simulates a send that reached Telegram although the client timed out waiting.
        """
        return cls("timeout", delay=seconds)

    @classmethod
    def odd_success(cls, result: Any) -> FakeError:
        """200 ``{"ok": true, "result": result}`` without doing the call: a garbled answer."""
        return cls("answer", parameters={"result": result})

    @classmethod
    def unauthorized(cls) -> FakeError:
        """401, as Telegram answers a revoked token (PTB: ``InvalidToken``)."""
        return cls("error", 401, "Unauthorized")

    @classmethod
    def not_json(cls, body: str = "<html>502 Bad Gateway</html>") -> FakeError:
        """200 with a body that is not JSON (a proxy's page): the call is not processed."""
        return cls("raw", 200, body)

    @classmethod
    def drop_connection(cls) -> FakeError:
        """Abort the TCP connection without answering (the call is not processed)."""
        return cls("drop")


@dataclass
class Recorded:
    """One HTTP call the fake received; ``status`` is None while pending or if dropped."""

    method: str
    params: JSON
    time: float
    status: int | None = None


@dataclass
class SentMessage:
    """A successful sendMessage/editMessageText; ``text`` is raw, as the bot sent it."""

    method: str
    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: JSON | None
    visible_text: str
    time: float


@dataclass
class Fault:
    error: FakeError
    method: str | None
    chat_id: int | None
    remaining: int
