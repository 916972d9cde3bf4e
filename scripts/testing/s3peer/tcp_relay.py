#!/usr/bin/env python3
"""A TCP relay in front of the S3 server, to stage outages without losing the server's state
(moto keeps everything in memory: restarting it would forget the bucket and the keys).

SIGUSR1: outage. Closes the listening socket and cuts every open connection (clients get ECONNREFUSED / resets).
SIGUSR2: back. Listens again on the same port.
usage: tcp_relay.py LISTEN_PORT TARGET_PORT
"""
import asyncio
import signal
import sys

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
connections = set()


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    tasks = [asyncio.ensure_future(pipe(client_reader, server_writer)), asyncio.ensure_future(pipe(server_reader, client_writer))]
    connections.update(tasks)
    await asyncio.gather(*tasks, return_exceptions=True)
    connections.difference_update(tasks)


async def main():
    loop = asyncio.get_running_loop()
    state = {"server": await asyncio.start_server(handle, "127.0.0.1", listen_port, reuse_address=True)}

    def down():
        if state["server"] is not None:
            state["server"].close()
            state["server"] = None
        for task in list(connections):
            task.cancel()
        print("relay: down", flush=True)

    async def up():
        if state["server"] is None:
            state["server"] = await asyncio.start_server(handle, "127.0.0.1", listen_port, reuse_address=True)
        print("relay: up", flush=True)

    loop.add_signal_handler(signal.SIGUSR1, down)
    loop.add_signal_handler(signal.SIGUSR2, lambda: asyncio.ensure_future(up()))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    print("relay: up", flush=True)
    await asyncio.Event().wait()


try:
    asyncio.run(main())
except RuntimeError:
    pass
