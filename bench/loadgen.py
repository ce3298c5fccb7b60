"""A light HTTP load generator for the page-latency figure of gate_bench.py, run as its own process.

    python bench/loadgen.py URL [--clients 50] [--requests 40] [--interval 0.5] [--accept TYPE]

Each client is one keep-alive TCP connection (as each pip or uv process has its own); all of them
are driven by one thread through `selectors` with non-blocking sockets, and h11 (the HTTP/1.1
state machine uvicorn itself uses) parses the answers. Per request that costs a small fraction of
what one httpx.AsyncClient per client costs (the generator of the first runs used 3-5 ms of CPU
per request on the same two cores as the servers it measured, and so added its own queueing to
the tail). The same generator measures every server in a run.

Each client first asks once (connecting; not counted), then all start together. With
`--interval` > 0 each client asks once every INTERVAL seconds, the clients' schedules spread
evenly over one interval (open loop: a late answer does not delay the next request); with 0 each
asks again as soon as its answer is complete (closed loop).

Every answer must be 200 with the same body as the first one (sha256); anything else stops the run
with an error. Latency is measured from the moment the request is written to the moment the last
byte of the answer is parsed. `send_lag` is how late the generator wrote paced requests against
their schedule: large values mean the generator itself was starved of CPU and its figures are
suspect. Prints one JSON object: latencies (ms), send lags (ms), the generator's own CPU seconds
(user+system, getrusage) and wall seconds for the measured phase.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import resource
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import h11

RECV = 1 << 16


class LoadError(RuntimeError):
    """A server answered something other than the expected page."""


@dataclass
class Client:
    """One keep-alive connection and the request in flight on it."""

    number: int
    sock: socket.socket
    conn: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    sent_at: float = 0.0
    status: int = 0
    body: Any = field(default_factory=hashlib.sha256)
    done: int = 0


def connect(host: str, port: int, number: int) -> Client:
    sock = socket.create_connection((host, port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Client(number, sock)


def send(client: Client, request: h11.Request) -> None:
    """Write one request: a few hundred bytes, which an idle connection's socket buffer takes whole."""
    data = (client.conn.send(request) or b"") + (client.conn.send(h11.EndOfMessage()) or b"")
    client.sent_at = time.perf_counter()
    if client.sock.send(data) != len(data):
        raise LoadError(f"client {client.number}: the request did not fit the socket buffer")
    client.status = 0
    client.body = hashlib.sha256()


def receive(client: Client) -> bool:
    """Read what the socket has; True when the answer in flight is complete."""
    data = client.sock.recv(RECV)
    if not data:
        raise LoadError(f"client {client.number}: the server closed the connection")
    client.conn.receive_data(data)
    while True:
        event = client.conn.next_event()
        if event is h11.NEED_DATA:
            return False
        if isinstance(event, h11.Response):
            client.status = event.status_code
        elif isinstance(event, h11.Data):
            client.body.update(event.data)
        elif isinstance(event, h11.EndOfMessage):
            client.conn.start_next_cycle()
            return True
        elif isinstance(event, h11.ConnectionClosed):
            raise LoadError(f"client {client.number}: the server closed the connection")


def first_answer(client: Client, request: h11.Request) -> str:
    """One blocking request: the connection's warm-up; returns the body's sha256."""
    send(client, request)
    while not receive(client):
        pass
    client.sock.setblocking(False)
    if client.status != 200:
        raise LoadError(f"client {client.number}: HTTP {client.status}")
    return client.body.hexdigest()


def run(url: str, clients: int, requests: int, interval: float, accept: str) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = h11.Request(
        method="GET",
        target=target,
        headers=[("Host", f"{host}:{port}"), ("Accept", accept), ("User-Agent", "custody-gate-bench")],
    )
    pool = [connect(host, port, number) for number in range(clients)]
    expected = {first_answer(client, request) for client in pool}
    if len(expected) != 1:
        raise LoadError(f"{url}: the warm-up answers differ ({len(expected)} bodies)")
    digest = expected.pop()
    selector = selectors.DefaultSelector()
    for client in pool:
        selector.register(client.sock, selectors.EVENT_READ, client)
    latencies: list[float] = []
    lags: list[float] = []
    # (due time, client number): paced clients spread over one interval; closed ones all due now
    begin = time.perf_counter() + 0.01
    due = [(begin + interval * n / clients if interval > 0 else begin, n) for n in range(clients)]
    heapq.heapify(due)
    in_flight = 0
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    while due or in_flight:
        now = time.perf_counter()
        while due and due[0][0] <= now:
            when, number = heapq.heappop(due)
            client = pool[number]
            send(client, request)
            lags.append(client.sent_at - when)
            in_flight += 1
        timeout = max(0.0, due[0][0] - time.perf_counter()) if due else None
        for key, _ in selector.select(timeout):
            client = key.data
            if not receive(client):
                continue
            latencies.append(time.perf_counter() - client.sent_at)
            in_flight -= 1
            if client.status != 200 or client.body.hexdigest() != digest:
                raise LoadError(f"client {client.number}: HTTP {client.status}, body differs: {url}")
            client.done += 1
            if client.done < requests:
                when = begin + interval * (client.number / clients + client.done) if interval > 0 else 0.0
                heapq.heappush(due, (when, client.number))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    for client in pool:
        client.sock.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "latencies_ms": [value * 1000 for value in latencies],
        "send_lag_ms": [value * 1000 for value in lags] if interval > 0 else [],
        "cpu_s": cpu,
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--accept", default="application/vnd.pypi.simple.v1+json")
    args = parser.parse_args()
    if args.clients < 1 or args.requests < 1 or args.interval < 0:
        parser.error("--clients and --requests must be at least 1, --interval not negative")
    print(json.dumps(run(args.url, args.clients, args.requests, args.interval, args.accept)))


if __name__ == "__main__":
    main()
