"""A canned-answer HTTP/1.1 server: the load generator's own floor, with no server work.

``python -m bench.echo PORT`` listens on 127.0.0.1:PORT and answers every
request on a keep-alive connection with the same ``201`` and a body the size
of a contract's, after reading the request's head and ``Content-Length``
body. ``python -m bench.load --echo`` runs the load loops against it, so the
latency it reports is the client's and the loopback's alone (on a small
machine the client shares the cores with the server it measures).
"""

from __future__ import annotations

import asyncio
import json
import sys

BODY = json.dumps(
    {"agent_id": "load-echo-0", "version": 1, "contract_id": "0" * 64, "padding": "x" * 600}
).encode()
ANSWER = (
    b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
    % (len(BODY), BODY)
)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
