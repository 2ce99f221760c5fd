"""The fault tooling itself: each proxy fault does what it says, and a cluster
front can be stopped and started again over the same data."""

from __future__ import annotations

import asyncio
from typing import Tuple

import aiohttp
import orjson
import pytest
from fault_helpers import until
from fault_proxy import Fault, FaultProxy

from queen import Queen
from queen.testing.cluster import Cluster


async def raw_exchange(url: str, path: str = "/health") -> Tuple[str, bytes]:
    """One GET over a fresh socket: ('ok', body) or what went wrong."""
    host, port = url.split("//")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    try:
        while True:  # until the end of the stream, or half a second of silence
            chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            if not chunk:
                break
            data += chunk
    except asyncio.TimeoutError:
        if not data:
            return "silent", b""
    except ConnectionResetError:
        return "reset", data
    finally:
        writer.close()
    return ("data", data) if data else ("closed", b"")


@pytest.mark.parametrize("forward", [True, False])
async def test_proxy_faults(proxy: FaultProxy, forward: bool) -> None:
    outcomes = {}
    for kind in ("close", "reset", "partial", "truncate", "garbage", "blackhole"):
        proxy.plan(Fault(kind, forward=forward, keep=9), match="/health")
        outcomes[kind] = await raw_exchange(proxy.url)
    assert outcomes["close"] == ("closed", b"")
    assert outcomes["reset"][0] in ("reset", "closed")
    assert outcomes["blackhole"] == ("silent", b"")
    if forward:
        assert outcomes["partial"] == ("data", b"HTTP/1.1 ")
        head, _, body = outcomes["truncate"][1].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and 0 < len(body)
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(body)
    assert outcomes["garbage"][1].startswith(b"\x00\x17garbage")
    assert [s.forwarded for s in proxy.seen] == [forward] * 6
    # the proxy still works after all that
    status, data = await raw_exchange(proxy.url)
    assert status == "data" and data.startswith(b"HTTP/1.1 200")


async def test_proxy_delay_refuse_and_reset_on_connect(proxy: FaultProxy) -> None:
    proxy.plan(Fault("delay", delay=0.05))
    async with aiohttp.ClientSession() as s:
        async with s.get(proxy.url + "/health") as r:
            assert r.status == 200
    proxy.refuse()
    with pytest.raises(ConnectionRefusedError):
        await raw_exchange(proxy.url)
    await proxy.accept()
    proxy.reset_on_connect = True
    status, _ = await raw_exchange(proxy.url)
    assert status in ("reset", "closed")
    assert len(proxy.seen) == 1  # the reset connection never got to send a request


async def test_cluster_node_stops_and_restarts_over_the_same_data(cluster: Cluster) -> None:
    urls = list(cluster.urls)
    assert len(set(urls)) == 3
    async with Queen(urls[0]) as first:
        await first.queue("tooling").create()
        await first.queue("tooling").push([{"data": {"n": 1}, "transactionId": "tooling-1"}])
    before = cluster.requests()
    await cluster.stop(1)
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with s.get(urls[1] + "/health"):
                pass
    await cluster.start(1)
    assert cluster.urls == urls  # same port again
    async with Queen({"url": urls[1], "server_version": cluster.compat}) as second:
        messages = await second.queue("tooling").batch(5).wait(False).pop()
    assert [m["transactionId"] for m in messages] == ["tooling-1"]
    after = cluster.requests()
    assert after[0] == before[0] and after[2] == before[2] == 0
    assert after[1] == before[1] + 1  # the pop, and nothing from the stopped spell


async def test_cluster_stop_cuts_requests_in_flight(cluster: Cluster) -> None:
    async with aiohttp.ClientSession() as s:
        poll = asyncio.ensure_future(
            s.get(cluster.urls[2] + "/api/v1/pop/queue/nothing-here?wait=true&timeout=20000"))
        await until(lambda: cluster.nodes[2].requests > 0, "the long poll to arrive")
        await cluster.stop(2)
        with pytest.raises(aiohttp.ClientError):
            await poll
