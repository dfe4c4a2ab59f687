"""HTTP load from a second process: closed loop (max throughput) and open loop (fixed offered rate).

The open loop measures latency from the moment a request was *due*, not sent, so a slow server cannot hide
its queueing (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

RequestFactory = Callable[[int], tuple[str, str, dict[str, str], Any]]  # i -> (method, url, headers, json body)


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    def summary(self) -> dict[str, Any]:
        return {"sent": self.sent, "ok": self.ok, "errors": self.errors, "seconds": round(self.seconds, 2),
                "rate": round(self.rate, 1), "p50_ms": round(self.percentile(50), 2),
                "p99_ms": round(self.percentile(99), 2),
                "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None}


async def _one(session: aiohttp.ClientSession, factory: RequestFactory, i: int, due: float, res: LoadResult,
               ok_status: set[int]) -> None:
    method, url, headers, body = factory(i)
    try:
        async with session.request(method, url, headers=headers, json=body) as r:
            await r.read()
            if r.status in ok_status:
                res.ok += 1
            else:
                res.errors[str(r.status)] = res.errors.get(str(r.status), 0) + 1
    except (TimeoutError, aiohttp.ClientError) as exc:
        res.errors[type(exc).__name__] = res.errors.get(type(exc).__name__, 0) + 1
    res.latencies_ms.append((time.perf_counter() - due) * 1000)


async def _open_loop(factory: RequestFactory, rate: float, duration: float, ok_status: set[int]) -> LoadResult:
    res = LoadResult()
    conn = aiohttp.TCPConnector(limit=500)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=30)) as session:
        start = time.perf_counter()
        tasks = []
        n = int(rate * duration)
        for i in range(n):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_one(session, factory, i, due, res, ok_status)))
            res.sent += 1
        await asyncio.gather(*tasks)
        res.seconds = time.perf_counter() - start
    return res


async def _closed_loop(factory: RequestFactory, concurrency: int, duration: float, ok_status: set[int]) -> LoadResult:
    res = LoadResult()
    stop_at = time.perf_counter() + duration
    counter = iter(range(10**9))

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop_at:
            i = next(counter)
            res.sent += 1
            await _one(session, factory, i, time.perf_counter(), res, ok_status)

    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=30)) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        res.seconds = time.perf_counter() - start
    return res


def _run_in_child(kind: str, spec: dict[str, Any], factory: RequestFactory, conn: Any) -> None:
    ok = set(spec.get("ok_status", [200, 201]))
    if kind == "open":
        res = asyncio.run(_open_loop(factory, spec["rate"], spec["duration"], ok))
    else:
        res = asyncio.run(_closed_loop(factory, spec["concurrency"], spec["duration"], ok))
    conn.send(json.dumps({"summary": res.summary(), "lat": res.latencies_ms}))
    conn.close()


def run(kind: str, factory: RequestFactory, **spec: Any) -> LoadResult:
    """Run the load in a separate process (a second process on loopback, as a real client would be)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_run_in_child, args=(kind, spec, factory, child))
    proc.start()
    data = json.loads(parent.recv())
    proc.join()
    s = data["summary"]
    return LoadResult(sent=s["sent"], ok=s["ok"], errors=s["errors"], latencies_ms=data["lat"],
                      seconds=s["seconds"])
