#!/usr/bin/env python3
"""fakesnow's HTTP server (what `fakesnow -s` runs), with its handler time in the same response header
floe sends (X-Floe-Server-Time-Us), so bench/clients.py measures both servers the same way.

    <fakesnow venv>/bin/python bench/fakesnow_server.py <port>
"""

import sys
import time

import uvicorn
from fakesnow.server import app


class ServerTime:
    """ASGI middleware: the time from receiving the request to starting the response."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        t0 = time.perf_counter()

        async def timed_send(message):
            if message["type"] == "http.response.start":
                us = int((time.perf_counter() - t0) * 1e6)
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [(b"x-floe-server-time-us", str(us).encode())]
            await send(message)

        await self.inner(scope, receive, timed_send)


if __name__ == "__main__":
    uvicorn.run(ServerTime(app), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
