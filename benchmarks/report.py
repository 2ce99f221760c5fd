"""Tables of a comparison run (ours vs upstream): side-by-side rows, the targets of issue 5
and the Markdown form used in benchmarks/README.md."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from queen.cli.common import fmt


def ratio(a: Any, b: Any) -> str:
    try:
        return f"{float(a) / float(b):.2f}x"
    except (TypeError, ValueError, ZeroDivisionError):
        return "-"


def _by_workload(results: List[Dict[str, Any]]) -> Dict[str, Dict[str, Dict[str, Any]]]:
    by: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for r in results:
        by.setdefault(r["workload"], {})[r.get("side", "ours")] = r
    return by


def compare_rows(results: List[Dict[str, Any]]) -> List[List[str]]:
    rows = []
    for name, sides in _by_workload(results).items():
        a, b = sides.get("ours", {}), sides.get("upstream", {})
        rows.append([name,
                     fmt(a.get("cpu_us_per_msg")), fmt(b.get("cpu_us_per_msg")),
                     ratio(a.get("cpu_us_per_msg"), b.get("cpu_us_per_msg")),
                     fmt(a.get("msgs_per_s")), fmt(b.get("msgs_per_s")),
                     ratio(a.get("msgs_per_s"), b.get("msgs_per_s")),
                     fmt(a.get("peak_rss_mb")), fmt(b.get("peak_rss_mb")),
                     ratio(a.get("peak_rss_mb"), b.get("peak_rss_mb"))])
    return rows


# issue 5's targets: (workload, metric, comparison, limit, text)
TARGETS = (
    ("push", "cpu", "<=", 1 / 5, "buffered push CPU/msg <= 1/5 upstream"),
    ("popack", "cpu", "<=", 1 / 5, "batch pop+ack CPU/msg <= 1/5 upstream"),
    ("consume1", "cpu", "<=", 1 / 10, "consume batch=1 CPU/msg <= 1/10 upstream"),
    ("consume1", "rate", ">=", 10.0, "consume batch=1 msgs/s >= 10x upstream"),
    ("txn", "cpu", "<=", 1 / 3, "transactional ack+push CPU/msg <= 1/3 upstream"),
)


def target_rows(results: List[Dict[str, Any]], raw: Optional[Dict[str, Any]]) -> List[List[str]]:
    """One row per target that this run has the figures for: measured value and verdict."""
    by = {(r["workload"], r.get("side", "ours")): r for r in results}
    rows = []
    for name, metric, op, limit, text in TARGETS:
        a, b = by.get((name, "ours")), by.get((name, "upstream"))
        if not a or not b:
            continue
        key = "cpu_us_per_msg" if metric == "cpu" else "msgs_per_s"
        try:
            value = float(a[key]) / float(b[key])
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
        ok = value <= limit if op == "<=" else value >= limit
        rows.append([text, f"{value:.3f}x", "met" if ok else "MISSED"])
    push = by.get(("push", "ours"))
    if raw and push and raw.get("msgs_per_s") and push.get("msgs_per_s"):
        share = float(push["msgs_per_s"]) / float(raw["msgs_per_s"])
        rows.append(["buffered push within 10% of raw ingest", f"{share * 100:.0f}% of raw",
                     "met" if share >= 0.9 else "MISSED"])
    for r in results:
        if r.get("rss_growth_pct") is not None:
            rows.append([f"memory ({r.get('client')}): RSS 100k -> all within 10%",
                         f"{r['rss_after_100k_mb']} -> {r['rss_after_all_mb']} MB "
                         f"({r['rss_growth_pct']:+.1f}%)",
                         "met" if r["rss_growth_pct"] <= 10 else "MISSED"])
    return rows


def markdown_report(results: List[Dict[str, Any]], raws: List[Dict[str, Any]],
                    targets: List[List[str]]) -> str:
    """The run as Markdown tables (for benchmarks/README.md)."""
    out = ["| workload | CPU µs/msg ours | upstream | ratio | msgs/s ours | upstream | ratio "
           "| peak RSS MB ours / upstream |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, sides in _by_workload(results).items():
        a, b = sides.get("ours", {}), sides.get("upstream", {})
        out.append(f"| {name} ({fmt(a.get('messages'))}) | {fmt(a.get('cpu_us_per_msg'))} "
                   f"| {fmt(b.get('cpu_us_per_msg'))} "
                   f"| {ratio(a.get('cpu_us_per_msg'), b.get('cpu_us_per_msg'))} "
                   f"| {fmt(a.get('msgs_per_s'), 0)} | {fmt(b.get('msgs_per_s'), 0)} "
                   f"| {ratio(a.get('msgs_per_s'), b.get('msgs_per_s'))} "
                   f"| {fmt(a.get('peak_rss_mb'))} / {fmt(b.get('peak_rss_mb'))} |")
    if raws:
        out.append("")
    for one in raws:
        out.append(f"* Server raw ingest ({one['tool']}, {one['connections']} connection(s), "
                   f"500-message bodies): {one['msgs_per_s']:,.0f} msgs/s.")
    if targets:
        out += ["", "| target | measured | verdict |", "|---|---|---|"]
        out += [f"| {t[0]} | {t[1]} | {t[2]} |" for t in targets]
    return "\n".join(out) + "\n"
