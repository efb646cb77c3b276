"""A minimal Bot API answerer for throughput runs, in its own process.

It answers every method with a canned success and nothing else: no validation, no recording,
so the bot's own cost is what the fan-out figures measure (the full fake in tests/ shares the
bot's event loop and does real work per request). Prints its port, then serves until killed.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys

from aiohttp import web

BOT = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
_ids = itertools.count(1)


async def answer(request: web.Request) -> web.Response:
    method = request.match_info["method"]
    await request.read()
    if method == "getMe":
        result: object = BOT
    elif method == "sendMessage":
        result = {
            "message_id": next(_ids),
            "date": 0,
            "chat": {"id": 1, "type": "private"},
            "from": BOT,
            "text": "ok",
        }
    else:
        result = True
    return web.Response(text=json.dumps({"ok": True, "result": result}),
                        content_type="application/json")  # fmt: skip


def main() -> None:
    logging.disable(logging.CRITICAL)  # a client hanging up at the end is not news
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)

    async def announce(_: web.Application) -> None:
        print("ready", flush=True)

    app.on_startup.append(announce)
    port = int(sys.argv[1])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
