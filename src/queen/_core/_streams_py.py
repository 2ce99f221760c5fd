"""Streams SDK kernels, pure-Python twin of ``_streams.pyx``: the per-message path of
a 0.15 stream cycle (timestamps, partition grouping, window assignment, state keys,
accumulator folding and closing, sink items and the cycle body encoding).

Accumulator entries are lists ``[user_key, window_start, window_end, window_key, acc,
touched, seeded]`` keyed by state key. Aggregate specs are tuples
``(names, codes, extractors)`` with codes ``AGG_*``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import orjson

__all__ = [
    "iso_ms", "ms_iso", "state_key", "split_partitions", "window_starts", "fold_windows",
    "close_windows", "agg_update", "sink_items", "encode_cycle",
]

SEP = "\x1f"
AGG_COUNT, AGG_SUM, AGG_MIN, AGG_MAX, AGG_AVG, AGG_OTHER = 0, 1, 2, 3, 4, 5

_EPOCH_DAYS = _dt.date(1970, 1, 1).toordinal()
_Entry = List[Any]


def _digits(s: str, i: int, n: int) -> int:
    part = s[i:i + n]
    if len(part) != n or not part.isdigit() or not part.isascii():
        raise ValueError
    return int(part)


def iso_ms(text: Any) -> Optional[int]:
    """Epoch milliseconds of an ISO-8601 timestamp (``Z``, ``+hh:mm`` or none = UTC),
    exact (no float rounding); None when it cannot be read."""
    if type(text) is not str:
        return None
    s = text.strip()
    try:
        year, month, day = _digits(s, 0, 4), _digits(s, 5, 2), _digits(s, 8, 2)
        if s[4] != "-" or s[7] != "-" or len(s) < 19 or s[10] not in "Tt ":
            raise ValueError
        hh, mm, ss = _digits(s, 11, 2), _digits(s, 14, 2), _digits(s, 17, 2)
        if s[13] != ":" or s[16] != ":":
            raise ValueError
        i = 19
        frac_ms = 0
        if i < len(s) and s[i] in ".,":
            j = i + 1
            while j < len(s) and s[j].isdigit() and s[j].isascii():
                j += 1
            digits = s[i + 1:j]
            if not digits:
                raise ValueError
            frac_ms = int((digits + "00")[:3])
            i = j
        offset = 0
        rest = s[i:]
        if rest in ("", "Z", "z"):
            pass
        elif len(rest) in (3, 5, 6) and rest[0] in "+-":
            oh = _digits(rest, 1, 2)
            om = 0
            if len(rest) == 6 and rest[3] == ":":
                om = _digits(rest, 4, 2)
            elif len(rest) == 5:
                om = _digits(rest, 3, 2)
            elif len(rest) != 3:
                raise ValueError
            offset = (oh * 60 + om) * (1 if rest[0] == "+" else -1)
        else:
            raise ValueError
        if not (hh < 24 and mm < 60 and ss < 60):
            raise ValueError
        days = _dt.date(year, month, day).toordinal() - _EPOCH_DAYS
    except (ValueError, IndexError):
        return None
    return ((days * 86400 + hh * 3600 + mm * 60 + ss - offset * 60) * 1000) + frac_ms


def ms_iso(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC, three fractional digits), like JS toISOString."""
    ms = int(ms)
    secs, frac = divmod(ms, 1000)
    days, rem = divmod(secs, 86400)
    d = _dt.date.fromordinal(days + _EPOCH_DAYS)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{frac:03d}Z"


def state_key(tag: str, window_key: str, user_key: str) -> str:
    """``<tag>\\x1f<window ISO>\\x1f<user key>``: the row key of one window accumulator."""
    return tag + SEP + window_key + SEP + user_key


def split_partitions(messages: Sequence[Any], group: str) -> List[Tuple[Any, ...]]:
    """Popped messages -> one ``(partition_id, partition_name, lease_id, consumer_group,
    messages, created_ms)`` per source partition, in first-seen order, each partition's
    messages sorted by (createdAt, id) and ``created_ms`` their createdAt in ms (0 when
    unreadable)."""
    groups: Dict[str, List[Any]] = {}
    for m in messages:
        pid = m.get("partitionId") or "unknown"
        g = groups.get(pid)
        if g is None:
            g = [pid, m.get("partition"), m.get("leaseId"), m.get("consumerGroup") or group, []]
            groups[pid] = g
        ms = iso_ms(m.get("createdAt"))
        g[4].append((ms if ms is not None else 0, m.get("id") or "", m))
    out: List[Tuple[Any, ...]] = []
    for pid, pname, lease, cg, rows in groups.values():
        rows.sort(key=lambda r: (r[0], r[1]))
        out.append((pid, pname, lease, cg, [r[2] for r in rows], [r[0] for r in rows]))
    return out


def window_starts(ts: int, size_ms: int, slide_ms: int, offset_ms: int) -> List[int]:
    """Starts of every window of length ``size_ms`` (starting at ``offset_ms`` + a
    multiple of ``slide_ms``) that contains ``ts``, latest first."""
    latest = ((ts - offset_ms) // slide_ms) * slide_ms + offset_ms
    out = []
    for i in range(size_ms // slide_ms):
        start = latest - i * slide_ms
        if start <= ts < start + size_ms:
            out.append(start)
    return out


def _num(v: Any) -> bool:
    t = type(v)
    return t is int or t is float or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _checked(v: Any, name: str) -> Any:
    if hasattr(v, "__await__"):
        if hasattr(v, "close"):
            v.close()  # never awaited: close it so it does not warn later
        raise TypeError(f"aggregate.{name} returned an awaitable; declare it with async def")
    return v


def agg_update(acc: Any, agg: Tuple[Sequence[str], Sequence[int], Sequence[Callable[[Any], Any]]],
               value: Any) -> Dict[str, Any]:
    """One aggregate step: a new accumulator dict (the old one is not changed)."""
    nxt: Dict[str, Any] = dict(acc) if type(acc) is dict else {}
    _agg_into(nxt, agg, value)
    return nxt


def _agg_into(nxt: Dict[str, Any],
              agg: Tuple[Sequence[str], Sequence[int], Sequence[Callable[[Any], Any]]],
              value: Any) -> None:
    names, codes, extractors = agg
    for i in range(len(names)):
        name = names[i]
        code = codes[i]
        v = extractors[i](value)
        num = _num(v)
        if not num:
            _checked(v, name)
        if code == AGG_COUNT:
            nxt["count"] = nxt.get("count", 0) + (v if num else 1)
        elif code == AGG_MIN:
            if num:
                cur = nxt.get("min")
                nxt["min"] = v if cur is None else min(cur, v)
        elif code == AGG_MAX:
            if num:
                cur = nxt.get("max")
                nxt["max"] = v if cur is None else max(cur, v)
        elif code == AGG_AVG:
            if num:
                s = nxt.get("__avg_sum", 0) + v
                c = nxt.get("__avg_count", 0) + 1
                nxt["__avg_sum"] = s
                nxt["__avg_count"] = c
                nxt["avg"] = s / c
        elif num:  # sum and any other name: a running total
            nxt[name] = nxt.get(name, 0) + v
        elif name not in nxt:
            nxt[name] = 0


def fold_windows(
    accs: Dict[str, _Entry],
    items: Sequence[Tuple[str, int, Any]],
    tag: str,
    size_ms: int,
    slide_ms: int,
    offset_ms: int,
    reduce_fn: Optional[Callable[[Any, Any], Any]],
    initial: Callable[[], Any],
    agg: Optional[Tuple[Sequence[str], Sequence[int], Sequence[Callable[[Any], Any]]]],
    watermark: Optional[int],
    drop_late: bool,
) -> Tuple[int, Optional[int]]:
    """Fold ``(user_key, ts, value)`` items into ``accs`` (state key -> entry), each
    into every window containing ``ts``. With ``watermark`` set, items with
    ``ts < watermark`` are late: skipped when ``drop_late``. Returns (late items
    dropped, largest ts seen or None)."""
    dropped = 0
    max_ts: Optional[int] = None
    iso_cache: Dict[int, str] = {}
    for user_key, ts, value in items:
        if max_ts is None or ts > max_ts:
            max_ts = ts
        if watermark is not None and ts < watermark and drop_late:
            dropped += 1
            continue
        for start in window_starts(ts, size_ms, slide_ms, offset_ms):
            wkey = iso_cache.get(start)
            if wkey is None:
                wkey = iso_cache[start] = ms_iso(start)
            sk = tag + SEP + wkey + SEP + user_key
            e = accs.get(sk)
            if e is None:
                e = [user_key, start, start + size_ms, wkey, initial(), False, False]
                accs[sk] = e
            if agg is not None:
                acc = e[4]
                if type(acc) is not dict:
                    acc = e[4] = {}
                _agg_into(acc, agg, value)  # entries own their dicts: update in place
            else:
                assert reduce_fn is not None
                e[4] = reduce_fn(e[4], value)
            e[5] = True
    return dropped, max_ts


def close_windows(
    accs: Dict[str, _Entry], clock: Optional[float], grace_ms: int,
    finish: Optional[Callable[[Any], Any]],
) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(state ops, emits): a window with ``end + grace <= clock`` is emitted (its value
    passed through ``finish``) and its stored row deleted; other touched windows are
    upserted; untouched stored windows are left alone."""
    ops: List[Dict[str, Any]] = []
    emits: List[Dict[str, Any]] = []
    for sk, e in accs.items():
        if clock is not None and e[2] + grace_ms <= clock:
            acc = e[4]
            emits.append({"key": e[0], "windowStart": e[1], "windowEnd": e[2],
                          "windowKey": e[3], "value": finish(acc) if finish else acc})
            if e[6]:
                ops.append({"type": "delete", "key": sk})
        elif e[5]:
            ops.append({"type": "upsert", "key": sk,
                        "value": {"acc": e[4], "windowStart": e[1], "windowEnd": e[2]}})
    return ops, emits


def sink_items(queue: str, partition: str, values: Sequence[Any]) -> List[Dict[str, Any]]:
    """Push items of one sink queue/partition: a dict value is the payload, anything
    else travels as ``{"value": v}``."""
    return [{"queue": queue, "partition": partition,
             "payload": v if type(v) is dict else {"value": v}} for v in values]


def encode_cycle(query_id: str, partition_id: str, group: str, state_ops: Any,
                 push_items: Any, ack: Any, release_lease: bool) -> bytes:
    """The JSON body of ``POST /streams/v1/cycle`` (keys in the SDKs' order)."""
    return orjson.dumps({
        "query_id": query_id, "partition_id": partition_id, "consumer_group": group,
        "state_ops": state_ops, "push_items": push_items, "ack": ack,
        "release_lease": bool(release_lease),
    })
