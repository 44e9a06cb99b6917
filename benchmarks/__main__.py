"""`python -m benchmarks [--quick] [--only a,b] [--profile NAME]`: run every figure, each in a
fresh child process (so no figure inherits another's heap, threads or sockets), print a table and
write results/latest.json.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import pstats
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks._harness import LOGS, REPO, RESULTS, machine, now_iso, quiet_logging

FIGURES = (
    "submit_latency",
    "pacing",
    "fill_ingestion",
    "connect_time",
    "memory",
    "soak",
    "sim_ceiling",
    "tap_latency",
    "scale",
    "order_types",
    "sim_cpu",
    "testbed",
    "endurance",
)


def _child(name: str, quick: bool, out: Path, profile: bool) -> int:
    """Run one figure in this process and write its result to `out`."""
    quiet_logging(name)
    module = importlib.import_module(f"benchmarks.{name}")
    started = time.perf_counter()
    prof = cProfile.Profile() if profile else None
    try:
        if prof is not None:
            prof.enable()
        result: dict[str, Any] = module.run(quick)
    except Exception as exc:  # a broken figure is reported, not fatal
        result = {"pass": False, "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
    finally:
        if prof is not None:
            prof.disable()
            path = RESULTS / f"{name}.prof"
            prof.dump_stats(path)
            stats = pstats.Stats(prof)
            stats.sort_stats("tottime").print_stats(30)
    result = {"title": module.TITLE, **result, "seconds": round(time.perf_counter() - started, 1)}
    out.write_text(json.dumps(result, indent=2, default=str))
    return 0


def _run_figure(name: str, quick: bool, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "benchmarks", "--child", name, "--out", str(out)]
        if quick:
            cmd.append("--quick")
        if profile:
            cmd.append("--profile-child")
        proc = subprocess.run(cmd, cwd=str(REPO), timeout=3600, check=False)
        if not out.exists():
            return {"pass": False, "error": f"figure process ended with rc={proc.returncode}; "
                                            f"see {LOGS.name}/{name}.log"}
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def _headline(name: str, fig: dict[str, Any]) -> str:
    if "error" in fig:
        return str(fig["error"])[:90]
    pick = {
        "submit_latency": lambda f: (
            f"p50 {f['horizon']['p50']:.3f} vs {f['raw_ib_async']['p50']:.3f} ms; median "
            f"block x{f['block_ratio']['median']:.3f} ({f['block_ratio']['min']:.3f}.."
            f"{f['block_ratio']['max']:.3f}), +{f['block_added_us']['median']:.0f} us"),
        "pacing": lambda f: (
            f"defaults: max {f['defaults']['max_msgs_in_any_1s']}/s, "
            f"{f['defaults']['pacing_violations']} violations, rate x"
            f"{f['defaults']['achieved_over_configured']:.3f}; without +PACEAPI: "
            f"{f['no_gateway_pacing']['pacing_violations']} viol.; 40/s burst 5 alone: max "
            f"{f['single_40_5']['max_msgs_in_any_1s']}/s, "
            f"{f['single_40_5']['pacing_violations']} viol."),
        "fill_ingestion": lambda f: (
            f"{f['horizon_cpu_us_per_fill']:.0f} vs {f['raw_cpu_us_per_fill']:.0f} us CPU/fill; "
            f"median pair x{f['pair_ratio']['median']:.3f} ({f['pair_ratio']['min']:.3f}.."
            f"{f['pair_ratio']['max']:.3f}), +{f['pair_added_us']['median']:.0f} us"),
        "connect_time": lambda f: (
            f"p50 {f['horizon']['p50']:.0f} vs {f['raw_ib_async']['p50']:.0f} ms "
            f"(x{f['ratio_p50']:.2f})"),
        "memory": lambda f: (
            f"FillBook {f['fillbook']['rss_mb_after_1k']:.0f} MB @1k, "
            f"{f['fillbook']['rss_mb_after_200k']:.0f} MB @200k, "
            f"+{f['fillbook']['growth_mb_second_half']:.1f} MB 200k->400k; venue "
            f"{f['venue']['horizon_bytes_per_fill']:.0f} vs "
            f"{f['venue']['raw_bytes_per_fill']:.0f} B/fill"),
        "soak": lambda f: (
            f"{f['restarts_survived']}/{f['restarts']} restarts, {f['freezes_recovered']}/"
            f"{f['freezes']} freezes, reconnect {f['reconnect_s']['mean']:.2f} s, "
            f"{f['fills_reconciled']}/{f['ledger_fills']} fills, dup {f['duplicates']}, "
            f"lost {f['lost']}; faults: ids reused {f['order_ids_reused']}, open unseen "
            f"{f['orders_open_the_gateway_does_not_show']}, untyped {f['untyped_errors']}; "
            f"{f['bars_live']} live bars: gaps {f['bar_gaps']}, dup {f['bar_duplicates']}, "
            f"quote streams not restored {f['quote_streams_not_restored']}"),
        "sim_ceiling": lambda f: (
            f"{f['req_current_time_msgs_per_s']:.0f} msg/s reqCurrentTime, "
            f"{f['place_order_msgs_per_s']:.0f} msg/s placeOrder, "
            f"{f['fills_out_per_s']:.0f} fills/s out (median of "
            f"{len(f['fills'].get('fills_per_s_rounds', [0]))} rounds; fills "
            f"{min(f['fills'].get('fills_per_s_rounds', [0])):.0f}.."
            f"{max(f['fills'].get('fills_per_s_rounds', [0])):.0f})"),
        "sim_cpu": lambda f: (
            f"{f['accept_us']['median']:.0f} us CPU per accepted placeOrder ("
            f"{f['accept_us']['min']:.0f}..{f['accept_us']['max']:.0f}), "
            f"{f['round_us']['median']:.0f} us per filled one ("
            f"{f['round_us']['min']:.0f}..{f['round_us']['max']:.0f}); alone: codec "
            f"{f['codec_us']['median']:.0f} us, engine {f['engine_us']['median']:.0f} us"),
        "scale": lambda f: (
            f"{f['clients']['clients']} clients: ack p50 {f['clients']['median_ack_ms_p50']:.2f} "
            f"ms, worst p99 {f['clients']['worst_ack_ms_p99']:.1f} ms, "
            f"{f['clients']['pacing_violations']} pacing violations, fills once: "
            f"{f['clients']['every_fill_once_to_its_owner']}; {f['leasing']['distinct_ids']} "
            f"distinct leased ids, slowest {f['leasing']['connect_s_max']:.2f} s"),
        "tap_latency": lambda f: (
            f"added p50 {f['tap_vs_direct']['us_p50']:.0f} us, p99 "
            f"{f['tap_vs_direct']['us_p99']:.0f} us (the hop "
            f"{f['relay_vs_direct']['us_p50']:.0f}, recording "
            f"{f['tap_vs_relay']['us_p50']:.0f}); back to back "
            f"+{f['back_to_back']['tap_vs_direct']['us_p50']:.0f} us, tap CPU "
            f"{f['tap_cpu_us_per_round_trip']:.0f} us/trip"),
        "order_types": lambda f: (
            f"added over raw: LMT {f['lmt']['added_us']['median']:+.0f} us, worst "
            f"{f['worst']} {f['types'][f['worst']]['added_us']['median']:+.0f} us "
            f"({f['types'][f['worst']]['added_over_lmt_us']['median']:+.0f} over LMT's); "
            f"{sum(t['pass'] for t in f['types'].values())}/{len(f['types'])} types pass"),
        "testbed": lambda f: (
            f"sim start p50 {f['simulator_start_ms']['p50']:.1f} ms; connect p50 venue "
            f"{f['venue_connect_ms']['p50']:.1f} vs raw {f['raw_connect_ms']['p50']:.1f} ms "
            f"(x{f['connect_ratio']['median']:.2f}); {f['suite']['tests']} tests with a "
            f"simulator each: {f['suite']['seconds']:.0f} s ({f['suite']['ms_per_test']:.0f} "
            f"ms/test)"),
        "endurance": lambda f: (
            f"{f['seconds']} s, {f['orders']} orders, {f['fills']} fills: RSS "
            f"{f['rss_mb_start']:.0f}->{f['rss_mb_end']:.0f} MB (slope "
            f"{f['rss_slope_mb_per_min']:+.2f} MB/min), fds {f['fds_after_warmup']}->"
            f"{f['fds_end']}, loop lag p99 {f['loop_lag_ms_p99']:.2f} ms"),
    }.get(name)
    try:
        return str(pick(fig)) if pick else ""
    except (KeyError, TypeError, ZeroDivisionError) as exc:
        return f"(incomplete: {exc})"


def _table(figures: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'figure':<16} {'pass':<5} {'secs':>6}  result", "-" * 100]
    for name, fig in figures.items():
        ok = "PASS" if fig.get("pass") is True else "FAIL" if fig.get("pass") is False else "-"
        lines.append(f"{name:<16} {ok:<5} {fig.get('seconds', 0):>6}  {_headline(name, fig)}")
    return "\n".join(lines)


TABLE_START, TABLE_END = "<!-- bench:table -->", "<!-- /bench:table -->"
READMES = (REPO / "README.md", REPO / "benchmarks" / "README.md")


def markdown_table(report: dict[str, Any]) -> str:
    """The results table the READMEs show, made from a results file (never typed by hand)."""
    m = report.get("machine", {})
    lines = [
        f"{report.get('mode', '?')} run {report.get('generated_at', '?')}, commit "
        f"{m.get('commit', '?')}, {m.get('cpus', '?')} CPUs ({m.get('cpu', '?')}), "
        f"{m.get('implementation', 'Python')} {m.get('python', '?')}, "
        f"ib_async {m.get('ib_async', '?')}:",
        "",
        "| figure | result | verdict |",
        "|---|---|---|",
    ]
    for name, fig in report.get("figures", {}).items():
        ok = "PASS" if fig.get("pass") else "FAIL"
        result = _headline(name, fig).replace("|", "\\|")
        lines.append(f"| {name} | {result} | {ok}: {fig.get('goal', '')} |")
    return "\n".join(lines)


def render(report: dict[str, Any]) -> list[Path]:
    """Rewrite the table between the bench:table markers of each README from `report`."""
    table = markdown_table(report)
    changed = []
    for path in READMES:
        text = path.read_text()
        start, end = text.find(TABLE_START), text.find(TABLE_END)
        if start < 0 or end < start:
            continue
        new = f"{text[: start + len(TABLE_START)]}\n{table}\n{text[end:]}"
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller runs (< 60 s in all)")
    parser.add_argument("--only", default="", help="comma-separated figures to run")
    parser.add_argument("--out", default="", help="result file (default results/latest.json)")
    parser.add_argument("--profile", default="",
                        help="run these figures under cProfile (client side); writes .prof")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite the README tables from the results file")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.quick, Path(args.out), args.profile_child)

    if args.render:
        source = Path(args.out) if args.out else RESULTS / "latest.json"
        for path in render(json.loads(source.read_text())):
            print(f"rewrote {path.relative_to(REPO)}")
        return 0
    names = [n for n in args.only.split(",") if n] or list(FIGURES)
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")
    profiled = {n for n in args.profile.split(",") if n}
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": machine(),
        "generated_at": now_iso(),
        "mode": "quick" if args.quick else "full",
        "figures": {},
    }
    started = time.perf_counter()
    for name in names:
        print(f"running {name} ...", flush=True)
        report["figures"][name] = _run_figure(name, args.quick, name in profiled)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["all_pass"] = all(f.get("pass") for f in report["figures"].values())
    out = Path(args.out) if args.out else RESULTS / "latest.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(_table(report["figures"]))
    shown = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    if report["mode"] == "full" and not args.only:  # the READMEs show full runs only
        render(report)
    verdict = "all pass" if report["all_pass"] else "SOME FIGURES FAIL"
    print(f"{verdict} in {report['seconds']} s; wrote {shown}")
    return 0 if report["all_pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
