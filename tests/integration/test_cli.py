"""The `queen` command end to end (real embedded server in a separate process), plus the
pure helpers of queen.cli and of the benchmarks/ scripts built on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from queen.cli import VERBS, bench, common, demo, workloads

PY = sys.executable
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import raw_ingest  # noqa: E402  (benchmarks/ is a directory of scripts, not a package)
import report  # noqa: E402


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "queen", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_demo_small_run_exits_zero_and_prints_the_table() -> None:
    r = _run("demo", "--messages", "500", "--quiet", "--timeout", "90")
    assert r.returncode == 0, r.stdout + r.stderr
    for text in ("1 push (buffered)", "2 process (transactions)", "3 consume (2nd group)",
                 "total (end to end)", "latency p99", "all 500 messages arrived exactly once"):
        assert text in r.stdout, r.stdout


def test_bench_writes_json_with_the_expected_keys(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    r = _run("bench", "--messages", "2000", "--only", "push,popack", "--json", str(out), "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    assert {"results", "raw_ingest", "python", "created"} <= doc.keys()
    assert [x["workload"] for x in doc["results"]] == ["push", "popack"]
    for res in doc["results"]:
        assert res["ok"] is True, res
        assert res["messages"] == 2000
        for key in ("seconds", "msgs_per_s", "cpu_us_per_msg", "peak_rss_mb",
                    "rss_sampled_peak_mb", "rss_start_mb", "rss_end_mb", "client", "loop"):
            assert key in res, key
        assert res["msgs_per_s"] > 0 and res["cpu_us_per_msg"] > 0
    assert doc["results"][0]["verified"] == 2000  # every buffered message was stored
    assert "push" in r.stdout and "CPU us/msg" in r.stdout


def test_bench_rejects_an_unknown_workload() -> None:
    r = _run("bench", "--only", "push,nope", "--quiet", timeout=60)
    assert r.returncode == 2
    assert "unknown workload" in r.stderr


def test_no_command_prints_help_and_fails() -> None:
    r = _run(timeout=60)
    assert r.returncode == 2
    assert "demo" in r.stderr and "bench" in r.stderr


def test_worker_half_imports_only_the_standard_library() -> None:
    # -S: no site-packages, so a third-party import at module level would fail here;
    # the same file has to load in upstream queen-mq's own venv.
    code = ("import importlib.util as u, sys; s = u.spec_from_file_location('w', sys.argv[1]); "
            "m = u.module_from_spec(s); sys.modules['w'] = m; s.loader.exec_module(m); "
            "print(sorted(m.RUNNERS))")
    r = subprocess.run([PY, "-S", "-c", code, workloads.__file__], capture_output=True,
                       text=True, cwd="/", timeout=60)
    assert r.returncode == 0, r.stderr
    assert "consume10" in r.stdout
    # ... and so does the memory plugin of benchmarks/
    code += "; m.load_plugins([sys.argv[2]]); print(sorted(m.RUNNERS))"
    r = subprocess.run([PY, "-S", "-c", code, workloads.__file__,
                        str(BENCHMARKS / "memory_workload.py")],
                       capture_output=True, text=True, cwd="/", timeout=60)
    assert r.returncode == 0, r.stderr
    assert "'memory'" in r.stdout.splitlines()[-1]


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([], 50, None), ([3.0], 99, 3.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
    ([float(i) for i in range(1, 101)], 99, 99.0), ([float(i) for i in range(1, 101)], 100, 100.0),
])
def test_percentile_is_nearest_rank(values: list[float], p: float, expected: float | None) -> None:
    assert demo.percentile(values, p) == expected


def test_compare_rows_pair_the_sides_and_compute_ratios() -> None:
    rows = report.compare_rows([
        {"workload": "push", "side": "ours", "cpu_us_per_msg": 10.0, "msgs_per_s": 50000.0,
         "peak_rss_mb": 40.0},
        {"workload": "push", "side": "upstream", "cpu_us_per_msg": 100.0, "msgs_per_s": 5000.0,
         "peak_rss_mb": 80.0},
    ])
    assert rows == [["push", "10.0", "100.0", "0.10x", "50,000.0", "5,000.0", "10.00x",
                     "40.0", "80.0", "0.50x"]]


def test_render_table_aligns_columns() -> None:
    text = common.render_table("t", ["name", "n"], [["a", "1"], ["bbb", "22"]])
    lines = text.splitlines()
    assert lines[0] == "t"
    assert lines[1] == "name   n"
    assert lines[3] == "a      1" and lines[4] == "bbb   22"


def _result(lost: list[int], dups: dict[int, int], error: str | None = None) -> demo.DemoResult:
    stages = [demo.Stage("s", 3, count=3, first=1.0, last=2.0, latencies=[0.1, 0.2, 0.3])]
    return demo.DemoResult(stages, 0.0, 2.0, lost, dups, 0, error)


def test_demo_verdict_fails_on_loss_and_on_duplicates() -> None:
    assert demo.verdict(_result([], {}), 3) == (0, ["OK: all 3 messages arrived exactly once"])
    code, lines = demo.verdict(_result([2], {}), 3)
    assert code == 1 and "1 of 3 message(s) never arrived (first ids: [2])" in lines[0]
    code, lines = demo.verdict(_result([], {1: 2}), 3)
    assert code == 1 and "arrived more than once" in lines[0] and "{1: 2}" in lines[0]
    code, lines = demo.verdict(_result([], {}, "timed out after 5 s"), 3)
    assert code == 1 and lines == ["FAILED: timed out after 5 s"]


def test_demo_without_a_server_fails_with_a_message() -> None:
    port = common.free_port()  # nothing listens there
    r = _run("demo", "--url", f"http://127.0.0.1:{port}", "--messages", "10", "--quiet",
             timeout=120)
    assert r.returncode == 1
    assert "FAILED" in r.stderr and "Traceback" not in r.stderr


def test_target_rows_judge_ratios_raw_share_and_memory() -> None:
    results = [
        {"workload": "push", "side": "ours", "cpu_us_per_msg": 2.0, "msgs_per_s": 95.0},
        {"workload": "push", "side": "upstream", "cpu_us_per_msg": 20.0, "msgs_per_s": 10.0},
        {"workload": "consume1", "side": "ours", "cpu_us_per_msg": 200.0, "msgs_per_s": 900.0},
        {"workload": "consume1", "side": "upstream", "cpu_us_per_msg": 1000.0, "msgs_per_s": 100.0},
        {"workload": "memory", "side": "ours", "client": "ours", "rss_after_100k_mb": 40.0,
         "rss_after_all_mb": 48.0, "rss_growth_pct": 20.0},
    ]
    rows = {r[0]: r[1:] for r in report.target_rows(results, {"msgs_per_s": 100.0})}
    assert rows["buffered push CPU/msg <= 1/5 upstream"] == ["0.100x", "met"]
    assert rows["consume batch=1 CPU/msg <= 1/10 upstream"] == ["0.200x", "MISSED"]
    assert rows["consume batch=1 msgs/s >= 10x upstream"] == ["9.000x", "MISSED"]
    assert rows["buffered push within 10% of raw ingest"] == ["95% of raw", "met"]
    assert rows["memory (ours): RSS 100k -> all within 10%"][1] == "MISSED"
    assert "batch pop+ack CPU/msg <= 1/5 upstream" not in rows  # no figures, no verdict


def test_best_run_takes_the_best_successful_run_per_metric() -> None:
    runs = [{"ok": True, "cpu_us_per_msg": 9.0, "msgs_per_s": 1.0},
            {"ok": False, "cpu_us_per_msg": 1.0, "msgs_per_s": 9.0},
            {"ok": True, "cpu_us_per_msg": 5.0, "msgs_per_s": 2.0}]
    best = bench.best_run(runs, "ours")
    assert best["cpu_us_per_msg"] == 5.0 and best["side"] == "ours"
    assert best["msgs_per_s"] == 2.0  # the fastest successful run, not the failed one
    assert [r["cpu_us_per_msg"] for r in best["repeats"]] == [9.0, 1.0, 5.0]
    failed = bench.best_run([{"ok": False, "error": "x"}], "upstream")
    assert failed["ok"] is False and "repeats" not in failed


def test_markdown_report_has_one_row_per_workload_and_the_raw_figure() -> None:
    results = [
        {"workload": "push", "side": "ours", "messages": 10, "cpu_us_per_msg": 2.0,
         "msgs_per_s": 300.0, "peak_rss_mb": 40.0},
        {"workload": "push", "side": "upstream", "messages": 10, "cpu_us_per_msg": 8.0,
         "msgs_per_s": 100.0, "peak_rss_mb": 50.0},
    ]
    md = report.markdown_report(results, [{"tool": "wrk", "connections": 4, "msgs_per_s": 1000.0}],
                               [["t", "0.25x", "met"]])
    assert "| push (10) | 2.0 | 8.0 | 0.25x | 300 | 100 | 3.00x | 40.0 / 50.0 |" in md
    assert "wrk, 4 connection(s)" in md and "1,000 msgs/s" in md
    assert "| t | 0.25x | met |" in md


def test_raw_ingest_with_the_aiohttp_loader() -> None:
    with common.server_url(None) as url:
        raw = raw_ingest.raw_ingest(url, seconds=1.0, connections=2, tool="aiohttp")
    assert raw["tool"] == "aiohttp" and raw["connections"] == 2
    assert raw["non_2xx"] == 0 and raw["msgs_per_s"] > 0
    assert raw["msgs_per_s"] == pytest.approx(raw["requests_per_s"] * workloads.PUSH_BATCH, rel=0.01)


UPSTREAM = os.environ.get("QUEEN_UPSTREAM_VENV", "")


@pytest.mark.skipif(not UPSTREAM or not Path(UPSTREAM, "bin", "python").exists(),
                    reason="QUEEN_UPSTREAM_VENV names no upstream queen-mq venv")
def test_compare_runs_both_clients_against_one_server(tmp_path: Path) -> None:
    out = tmp_path / "cmp.json"
    r = subprocess.run([PY, str(BENCHMARKS / "compare.py"), "--no-raw", "--only", "push",
                        "--messages", "1000", "--json", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    sides = {x["side"]: x for x in doc["results"]}
    assert set(sides) == {"ours", "upstream"}
    assert sides["upstream"]["client_version"] != sides["ours"]["client_version"]
    assert all(x["ok"] and x["verified"] == 1000 for x in sides.values())
    assert "ours vs upstream" in r.stdout


def test_e2e_script_runs_the_memory_workload_of_benchmarks(tmp_path: Path) -> None:
    out = tmp_path / "mem.json"
    r = subprocess.run([PY, str(BENCHMARKS / "e2e.py"), "--only", "memory", "--messages", "3000",
                        "--json", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    doc = json.loads(out.read_text())
    (res,) = doc["results"]
    assert res["workload"] == "memory" and res["messages"] >= 3000, r.stdout + r.stderr
    assert res["rss_after_all_mb"] > 0 and res["rss_after_100k_mb"] > 0


def test_compare_without_an_upstream_venv_says_how_to_name_one() -> None:
    env = {k: v for k, v in os.environ.items() if k != "QUEEN_UPSTREAM_VENV"}
    r = subprocess.run([PY, str(BENCHMARKS / "compare.py"), "--only", "push", "--quiet"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode != 0
    assert "--upstream-venv" in r.stderr and "QUEEN_UPSTREAM_VENV" in r.stderr


def test_every_verb_is_a_module_with_help_parser_and_run() -> None:
    import importlib

    for name, module in VERBS.items():
        mod = importlib.import_module(module)
        assert isinstance(mod.HELP, str) and mod.HELP
        assert callable(mod.build_parser) and callable(mod.run)
        r = _run(name, "--help", timeout=60)
        assert r.returncode == 0 and f"queen {name}" in r.stdout


def test_demo_does_not_load_the_bench_modules() -> None:
    code = "import sys, queen.cli.demo; print('queen.cli.bench' in sys.modules)"
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stderr
