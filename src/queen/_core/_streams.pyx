# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Streams SDK kernels, compiled twin of ``_streams_py.py``: the per-message path of
a 0.15 stream cycle (timestamps, partition grouping, window assignment, state keys,
accumulator folding and closing, sink items and the cycle body encoding).

Accumulator entries are lists ``[user_key, window_start, window_end, window_key, acc,
touched, seeded]`` keyed by state key. Aggregate specs are tuples
``(names, codes, extractors)`` with codes ``AGG_*``.
"""

import orjson

__all__ = [
    "iso_ms", "ms_iso", "state_key", "split_partitions", "window_starts", "fold_windows",
    "close_windows", "agg_update", "sink_items", "encode_cycle",
]

SEP = "\x1f"
AGG_COUNT, AGG_SUM, AGG_MIN, AGG_MAX, AGG_AVG, AGG_OTHER = 0, 1, 2, 3, 4, 5

cdef str _SEP = "\x1f"
cdef object _dumps = orjson.dumps
cdef tuple _MDAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# ---------------------------------------------------------------- civil dates

cdef inline long long _floordiv(long long a, long long b):
    cdef long long q = a // b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef long long _days_from_civil(long long y, long long m, long long d):
    # Howard Hinnant's algorithm: days since 1970-01-01
    y -= m <= 2
    cdef long long era = _floordiv(y, 400)
    cdef long long yoe = y - era * 400
    cdef long long mp = (m + 9) % 12
    cdef long long doy = (153 * mp + 2) // 5 + d - 1
    cdef long long doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef void _civil_from_days(long long z, long long* y, long long* m, long long* d):
    z += 719468
    cdef long long era = _floordiv(z, 146097)
    cdef long long doe = z - era * 146097
    cdef long long yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef long long doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef long long mp = (5 * doy + 2) // 153
    d[0] = doy - (153 * mp + 2) // 5 + 1
    m[0] = mp + 3 if mp < 10 else mp - 9
    y[0] = yoe + era * 400 + (1 if m[0] <= 2 else 0)


cdef inline int _dig(Py_UCS4 c):
    if 48 <= c <= 57:  # '0'..'9'
        return <int>c - 48
    return -1


cdef int _num(str s, Py_ssize_t i, Py_ssize_t n, long long* out):
    cdef long long v = 0
    cdef Py_ssize_t j
    cdef int dg
    if i + n > len(s):
        return 0
    for j in range(i, i + n):
        dg = _dig(s[j])
        if dg < 0:
            return 0
        v = v * 10 + dg
    out[0] = v
    return 1


def iso_ms(text):
    """Epoch milliseconds of an ISO-8601 timestamp (``Z``, ``+hh:mm`` or none = UTC),
    exact (no float rounding); None when it cannot be read."""
    if type(text) is not str:
        return None
    cdef str s = (<str>text).strip()
    cdef Py_ssize_t n = len(s), i, j
    cdef long long year, month, day, hh, mm, ss, oh, om, frac = 0, offset = 0, mdays
    cdef int dg, nd
    cdef Py_UCS4 sign
    if n < 19:
        return None
    if not (_num(s, 0, 4, &year) and s[4] == u'-' and _num(s, 5, 2, &month) and s[7] == u'-'
            and _num(s, 8, 2, &day) and (s[10] == u'T' or s[10] == u't' or s[10] == u' ')
            and _num(s, 11, 2, &hh) and s[13] == u':' and _num(s, 14, 2, &mm)
            and s[16] == u':' and _num(s, 17, 2, &ss)):
        return None
    i = 19
    if i < n and (s[i] == u'.' or s[i] == u','):
        j = i + 1
        nd = 0
        while j < n and _dig(s[j]) >= 0:
            if nd < 3:
                frac = frac * 10 + _dig(s[j])
            nd += 1
            j += 1
        if nd == 0:
            return None
        while nd < 3:
            frac *= 10
            nd += 1
        i = j
    if i == n or (i == n - 1 and (s[i] == u'Z' or s[i] == u'z')):
        pass
    elif s[i] == u'+' or s[i] == u'-':
        sign = s[i]
        om = 0
        if n - i == 3:
            if not _num(s, i + 1, 2, &oh):
                return None
        elif n - i == 5:
            if not (_num(s, i + 1, 2, &oh) and _num(s, i + 3, 2, &om)):
                return None
        elif n - i == 6 and s[i + 3] == u':':
            if not (_num(s, i + 1, 2, &oh) and _num(s, i + 4, 2, &om)):
                return None
        else:
            return None
        offset = oh * 60 + om
        if sign == u'-':
            offset = -offset
    else:
        return None
    if month < 1 or month > 12 or day < 1 or year < 1 or hh > 23 or mm > 59 or ss > 59:
        return None
    mdays = _MDAYS[month - 1]
    if month == 2 and (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        mdays = 29
    if day > mdays:
        return None
    cdef long long days = _days_from_civil(year, month, day)
    return (days * 86400 + hh * 3600 + mm * 60 + ss - offset * 60) * 1000 + frac


cdef str _ms_iso(long long ms):
    cdef long long secs = _floordiv(ms, 1000)
    cdef long long frac = ms - secs * 1000
    cdef long long days = _floordiv(secs, 86400)
    cdef long long rem = secs - days * 86400
    cdef long long y, m, d
    _civil_from_days(days, &y, &m, &d)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (y, m, d, rem // 3600, (rem // 60) % 60,
                                                   rem % 60, frac)


def ms_iso(ms):
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC, three fractional digits), like JS toISOString."""
    return _ms_iso(int(ms))


def state_key(str tag, str window_key, str user_key):
    """``<tag>\\x1f<window ISO>\\x1f<user key>``: the row key of one window accumulator."""
    return tag + _SEP + window_key + _SEP + user_key


def _sort_key(r):
    return (r[0], r[1])


def split_partitions(messages, str group):
    """Popped messages -> one ``(partition_id, partition_name, lease_id, consumer_group,
    messages, created_ms)`` per source partition, in first-seen order, each partition's
    messages sorted by (createdAt, id) and ``created_ms`` their createdAt in ms (0 when
    unreadable)."""
    cdef dict groups = {}
    cdef list g, rows, out = []
    cdef dict m
    for mo in messages:
        m = <dict>mo
        pid = m.get("partitionId") or "unknown"
        g = groups.get(pid)
        if g is None:
            g = [pid, m.get("partition"), m.get("leaseId"), m.get("consumerGroup") or group, []]
            groups[pid] = g
        ms = iso_ms(m.get("createdAt"))
        (<list>g[4]).append((ms if ms is not None else 0, m.get("id") or "", m))
    for g in groups.values():
        rows = g[4]
        rows.sort(key=_sort_key)
        out.append((g[0], g[1], g[2], g[3], [r[2] for r in rows], [r[0] for r in rows]))
    return out


cdef list _starts(long long ts, long long size_ms, long long slide_ms, long long offset_ms):
    cdef long long latest = _floordiv(ts - offset_ms, slide_ms) * slide_ms + offset_ms
    cdef long long start
    cdef long long i, n = size_ms // slide_ms
    cdef list out = []
    for i in range(n):
        start = latest - i * slide_ms
        if start <= ts < start + size_ms:
            out.append(start)
    return out


def window_starts(ts, size_ms, slide_ms, offset_ms):
    """Starts of every window of length ``size_ms`` (starting at ``offset_ms`` + a
    multiple of ``slide_ms``) that contains ``ts``, latest first."""
    return _starts(ts, size_ms, slide_ms, offset_ms)


cdef inline bint _isnum(object v):
    t = type(v)
    if t is int or t is float:
        return True
    return isinstance(v, (int, float)) and not isinstance(v, bool)


cdef void _agg_into(dict nxt, tuple names, tuple codes, tuple extractors, object value) except *:
    cdef Py_ssize_t i, n = len(names)
    cdef int code
    cdef bint num
    for i in range(n):
        name = names[i]
        code = codes[i]
        v = extractors[i](value)
        num = _isnum(v)
        if not num and hasattr(v, "__await__"):
            if hasattr(v, "close"):
                v.close()
            raise TypeError(f"aggregate.{name} returned an awaitable; declare it with async def")
        if code == 0:
            nxt["count"] = nxt.get("count", 0) + (v if num else 1)
        elif code == 2:
            if num:
                cur = nxt.get("min")
                nxt["min"] = v if cur is None else min(cur, v)
        elif code == 3:
            if num:
                cur = nxt.get("max")
                nxt["max"] = v if cur is None else max(cur, v)
        elif code == 4:
            if num:
                s = nxt.get("__avg_sum", 0) + v
                c = nxt.get("__avg_count", 0) + 1
                nxt["__avg_sum"] = s
                nxt["__avg_count"] = c
                nxt["avg"] = s / c
        elif num:
            nxt[name] = nxt.get(name, 0) + v
        elif name not in nxt:
            nxt[name] = 0


def agg_update(acc, agg, value):
    """One aggregate step: a new accumulator dict (the old one is not changed)."""
    cdef dict nxt = dict(acc) if type(acc) is dict else {}
    _agg_into(nxt, tuple(agg[0]), tuple(agg[1]), tuple(agg[2]), value)
    return nxt


def fold_windows(dict accs, items, str tag, long long size_ms, long long slide_ms,
                 long long offset_ms, reduce_fn, initial, agg, watermark, bint drop_late):
    """Fold ``(user_key, ts, value)`` items into ``accs`` (state key -> entry), each
    into every window containing ``ts``. With ``watermark`` set, items with
    ``ts < watermark`` are late: skipped when ``drop_late``. Returns (late items
    dropped, largest ts seen or None)."""
    cdef long long dropped = 0, ts, max_ts = 0, start, wm = 0
    cdef bint seen = False, has_wm = watermark is not None
    cdef dict iso_cache = {}
    cdef list e
    cdef tuple names = None, codes = None, extractors = None
    cdef str wkey, sk, user_key
    if has_wm:
        wm = watermark
    if agg is not None:
        names, codes, extractors = tuple(agg[0]), tuple(agg[1]), tuple(agg[2])
    for item in items:
        user_key = item[0]
        ts = item[1]
        value = item[2]
        if not seen or ts > max_ts:
            max_ts = ts
            seen = True
        if has_wm and ts < wm and drop_late:
            dropped += 1
            continue
        for start_o in _starts(ts, size_ms, slide_ms, offset_ms):
            start = start_o
            wkey = iso_cache.get(start_o)
            if wkey is None:
                wkey = _ms_iso(start)
                iso_cache[start_o] = wkey
            sk = tag + _SEP + wkey + _SEP + user_key
            e = accs.get(sk)
            if e is None:
                e = [user_key, start_o, start + size_ms, wkey, initial(), False, False]
                accs[sk] = e
            if names is not None:
                acc = e[4]
                if type(acc) is not dict:
                    acc = {}
                    e[4] = acc
                _agg_into(<dict>acc, names, codes, extractors, value)
            else:
                e[4] = reduce_fn(e[4], value)
            e[5] = True
    return dropped, (max_ts if seen else None)


def close_windows(dict accs, clock, long long grace_ms, finish):
    """(state ops, emits): a window with ``end + grace <= clock`` is emitted (its value
    passed through ``finish``) and its stored row deleted; other touched windows are
    upserted; untouched stored windows are left alone."""
    cdef list ops = [], emits = [], e
    cdef bint has_clock = clock is not None
    for sk, eo in accs.items():
        e = <list>eo
        if has_clock and e[2] + grace_ms <= clock:
            acc = e[4]
            emits.append({"key": e[0], "windowStart": e[1], "windowEnd": e[2],
                          "windowKey": e[3], "value": finish(acc) if finish is not None else acc})
            if e[6]:
                ops.append({"type": "delete", "key": sk})
        elif e[5]:
            ops.append({"type": "upsert", "key": sk,
                        "value": {"acc": e[4], "windowStart": e[1], "windowEnd": e[2]}})
    return ops, emits


def sink_items(str queue, str partition, values):
    """Push items of one sink queue/partition: a dict value is the payload, anything
    else travels as ``{"value": v}``."""
    return [{"queue": queue, "partition": partition,
             "payload": v if type(v) is dict else {"value": v}} for v in values]


def encode_cycle(query_id, partition_id, group, state_ops, push_items, ack, release_lease):
    """The JSON body of ``POST /streams/v1/cycle`` (keys in the SDKs' order)."""
    return _dumps({
        "query_id": query_id, "partition_id": partition_id, "consumer_group": group,
        "state_ops": state_ops, "push_items": push_items, "ack": ack,
        "release_lease": bool(release_lease),
    })
