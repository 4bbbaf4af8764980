"""A TCP proxy that adds latency: `python -m soak.delay_proxy LISTEN UPSTREAM CONTROL_FILE`.

The cluster puts it in front of the database host's PostgreSQL, so the database link's latency
can be raised while the load runs (this kernel has no `netem` queueing discipline). Every chunk
read from either side is written to the other side `delay` milliseconds later, in order; the
delay is read from CONTROL_FILE (an integer, milliseconds; a missing file is 0) twice a second.
LISTEN and UPSTREAM are `host:port`.
"""

import asyncio
import sys
import time
from pathlib import Path

delay_seconds = 0.0


async def _watch(control: Path) -> None:
    global delay_seconds
    while True:
        try:
            delay_seconds = max(0, int(control.read_text().strip() or 0)) / 1000
        except (FileNotFoundError, ValueError):
            delay_seconds = 0.0
        await asyncio.sleep(0.5)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        while data := await reader.read(65536):
            await queue.put((time.monotonic() + delay_seconds, data))
        await queue.put((0.0, b""))

    async def write() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(read(), write())
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve(listen: str, upstream: str, control: Path) -> None:
    up_host, up_port = upstream.rsplit(":", 1)

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(up_host, int(up_port))
        except OSError:
            client_writer.close()  # the database is down: refuse, as the host itself would
            return
        await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer))

    host, port = listen.rsplit(":", 1)
    server = await asyncio.start_server(handle, host, int(port))
    watcher = asyncio.create_task(_watch(control))
    async with server:
        await server.serve_forever()
    watcher.cancel()


def main() -> None:
    listen, upstream, control = sys.argv[1:4]
    asyncio.run(_serve(listen, upstream, Path(control)))


if __name__ == "__main__":
    main()
