"""``make bench``: the targets of issue 12 ("one engine"), measured in one run on the code checked out.

Everything is measured through the ``citybridge`` command (``build``, ``run``,
``indicators``, ``new-city``), so the bench keeps working when the package's
modules move. Each part prints its figures, its target and MET / NOT MET; a
final table sums them up. Parts, in the order they run:

``book``
    A fresh copy of the project in bench/out/project/ (notebooks, book, data:
    the two shipped cities) with an empty cache (``CITYBRIDGE_CACHE`` points
    into the copy): a cold ``citybridge build`` (what ``make book`` runs on a
    fresh clone), a warm rebuild with nothing changed, then one Hangzhou data
    file changed (population.csv) and a rebuild, with the notebook executions
    it caused counted from the build report (``book/_build/build-report.json``);
    then a cold build of the English edition only (``--editions en``) on another
    fresh copy, against the cold build of the three editions (target <= 2x);
    the largest built page (after the cold build) is printed too.
``scale``
    In the same copy, gtfs-kit's Cairns sample is added as a small city
    (bench/smallcity.py). Both cities are warm: Santiago from the book build,
    Cairns from one untimed pass of its chapters, so each city's prepared day
    and artefacts are in the disk cache, as a workshop participant meets them.
    Then each chapter 00-09 is executed with ``citybridge run CITY --notebooks
    NN --no-cache``, Santiago and Cairns alternately, and its kernel watched
    (bench/procs.py): the chapter's time is the kernel's lifetime, its memory
    the kernel's peak RSS (VmHWM).
``indicators``
    ``citybridge indicators`` against gtfs-kit (bench/gk_stats.py) on the
    replica of at least 3.4 million stop_times (bench/feeds.py), each in a
    fresh process (bench/measure.py), three times each, the two tools
    alternately (a slower minute of the machine then slows both); the median
    run of each is compared, every run is printed.
``unit``
    ``pytest -m unit`` in this checkout.

``--only PART`` (repeatable) runs some parts; the optional parts ``feeds``
(indicators on the shipped and frequency-based feeds too), ``workers``,
``air``, ``observed`` and ``resilience`` (bench/extra.py) run only when named.
Results are also written to bench/out/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import extra  # noqa: E402
import feeds  # noqa: E402
import smallcity  # noqa: E402
from common import BENCH, CITYBRIDGE, OUT, PY, ROOT, copy_project, default_date, measure, say, \
    stop_time_rows  # noqa: E402
from procs import clean_env, run_watched  # noqa: E402

PROJECT = OUT / "project"
BIG = "santiago"
#: targets of issue 12
MAX_RATIO = 3.0
MAX_KERNEL_GB = 2.0
MIN_SPEEDUP = 20.0
MAX_MEMORY_RATIO = 0.5
#: Runs of each tool on the replica (medians compared).
INDICATOR_RUNS = 3
MAX_UNIT_S = 60.0
MAX_EDITIONS_RATIO = 2.0
CHANGED_CITY, CHANGED_FILE = "hangzhou", "population.csv"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def project_env() -> dict[str, str]:
    """The environment of every command run in the copy: its own, empty cache."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("CITYBRIDGE_")}
    env["CITYBRIDGE_CACHE"] = str(PROJECT / ".citybridge-cache")
    return env


def fresh_project() -> Path:
    if PROJECT.exists():
        shutil.rmtree(PROJECT)
    return copy_project(PROJECT)


def chapters(project: Path) -> list[str]:
    """The city chapters' numbers (``NN`` of notebooks/NN_*.ipynb)."""
    return sorted(p.name[:2] for p in (project / "notebooks").glob("[0-9][0-9]_*.ipynb"))


# --------------------------------------------------------------------------
# book: cold build, warm rebuild, one city's file changed
# --------------------------------------------------------------------------

def build_step(label: str, *args: str) -> dict:
    report = PROJECT / "book" / "_build" / "build-report.json"
    report.unlink(missing_ok=True)  # never read the previous build's report
    w = run_watched([CITYBRIDGE, "build", *args], cwd=PROJECT, env=project_env(), poll_s=0.25)
    jobs = json.loads(report.read_text(encoding="utf-8"))["results"] if report.is_file() else []
    executed = [j for j in jobs if not j.get("cached")]
    if not jobs:  # no JSON report: the command's own summary line
        m = re.search(r"(\d+) executed", w.stdout)
        executed = [{}] * int(m.group(1)) if m else []
    failed = [f"{j.get('city') or 'all cities'}: {Path(j['notebook']).stem}" for j in jobs if not j.get("ok", True)]
    kernel_gb = max((k.peak_kb for k in w.kernels), default=0) * 1024 / 1e9
    r = {"label": label, "rc": w.rc, "wall_s": w.wall_s, "executed": len(executed), "jobs": len(jobs),
         "failed": failed, "executed_jobs": [f"{j.get('city') or 'all cities'}: {Path(j.get('notebook', '?')).stem}"
                                             for j in executed], "kernel_peak_gb": kernel_gb}
    say(f"   {label:<46} {w.wall_s:7.1f} s  {len(executed):>3} of {len(jobs)} notebooks executed, "
        f"largest kernel {kernel_gb:.2f} GB" + ("" if w.rc == 0 else f"  (exit {w.rc})"))
    if w.rc != 0 or failed:
        say(f"      failed: {', '.join(failed) or '?'}; " + (w.stderr.strip().splitlines() or [""])[-1][:300])
    return r


def change_city_file(project: Path) -> str:
    """Add one person to the first district of the changed city's population table; say what changed."""
    path = project / "data" / "cities" / CHANGED_CITY / CHANGED_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    col = head.index("population")
    cells = lines[1].split(",")
    cells[col] = str(int(float(cells[col])) + 1)
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"data/cities/{CHANGED_CITY}/{CHANGED_FILE}: population of {cells[0]} + 1"


def bench_book(results: dict) -> None:
    say("== Book: fresh copy of the project (bench/out/project), empty caches, citybridge build")
    project = fresh_project()
    n_city = len(chapters(project))
    n_compare = len(list((project / "notebooks").glob("compare*.ipynb")))
    cold = build_step("cold build (what make book runs on a clone)")
    weight = page_weight(project / "book" / "_build" / "html")
    warm = build_step("warm rebuild, nothing changed")
    what = change_city_file(project)
    changed = build_step(f"rebuild after changing {CHANGED_CITY}/{CHANGED_FILE}")
    expected = n_city + n_compare
    by_city: dict[str, list[str]] = {}
    for label in changed["executed_jobs"]:
        city, _, nb = label.partition(": ")
        by_city.setdefault(city, []).append(nb[:2] if nb[:2].isdigit() else nb)
    say(f"   changed: {what}")
    say(f"   executions caused: {changed['executed']} ("
        + "; ".join(f"{c}: {', '.join(v)}" for c, v in by_city.items())
        + f"); expected {expected} ({CHANGED_CITY}'s {n_city} chapters + {n_compare} compare): "
        + verdict(changed["executed"] == expected))
    say(f"   warm rebuild executed {warm['executed']} notebooks (expected 0): {verdict(warm['executed'] == 0)}")
    # the same cold build with one edition: the editions share the computations
    fresh_project()
    one = build_step("cold build, English edition only", "--editions", "en")
    ratio = cold["wall_s"] / one["wall_s"] if one["wall_s"] else float("nan")
    say(f"   three editions against one: {cold['wall_s']:.1f} s / {one['wall_s']:.1f} s = {ratio:.2f}x "
        f"(target <= {MAX_EDITIONS_RATIO:g}x): {verdict(ratio <= MAX_EDITIONS_RATIO)}")
    results["book"] = {"cold": cold, "warm": warm, "changed": changed, "change": what,
                       "expected_executions": expected, "pages": weight, "one_edition": one,
                       "editions_ratio": ratio}


def page_weight(html: Path) -> dict[str, int]:
    """Print the largest built pages (own HTML, without the shared ``_static`` files); return all, bytes."""
    pages = sorted(((p.stat().st_size, p) for p in html.rglob("*.html") if "_static" not in p.parts), reverse=True)
    if pages:
        size, page = pages[0]
        say(f"   largest built page: {page.relative_to(html)} {size / 1e6:.2f} MB (limit 2 MB: {verdict(size <= 2e6)});"
            " next: " + ", ".join(f"{p.relative_to(html)} {s / 1e6:.2f} MB" for s, p in pages[1:4]))
    return {str(p.relative_to(html)): s for s, p in pages}


# --------------------------------------------------------------------------
# scale: each chapter for Santiago and a small city, kernel time and memory
# --------------------------------------------------------------------------

def run_chapter(city: str, nb: str | None) -> dict:
    """``citybridge run CITY [--notebooks NN] --no-cache`` in the copy, its kernels watched."""
    cmd = [CITYBRIDGE, "run", city, "--no-cache"] + (["--notebooks", nb] if nb else [])
    w = run_watched(cmd, cwd=PROJECT, env=project_env())
    ks = w.kernels
    return {"rc": w.rc, "wall_s": w.wall_s, "kernel_s": sum(k.seconds for k in ks),
            "kernel_peak_gb": max((k.peak_kb for k in ks), default=0) * 1024 / 1e9, "kernels": len(ks),
            "error": "" if w.rc == 0 else (w.stdout + w.stderr).strip()[-400:]}


def bench_scale(results: dict) -> None:
    say(f"== Scale: each chapter for {BIG} (the real network) and a small city, same copy, warm disk cache")
    if not (PROJECT / "data").is_dir():
        fresh_project()
    small, label = smallcity.make_small_city(PROJECT, CITYBRIDGE, project_env())
    say(f"   small city: {label}, added to the copy as '{small}' (synthetic grid districts, population and"
        f" bike share; {BIG}'s emission parameters; no realtime capture)")
    t0 = time.perf_counter()
    warm_up = [small] if "book" in results else [BIG, small]
    for city in warm_up:
        r = run_chapter(city, None)
        if r["rc"] != 0:
            say(f"   warm-up of {city} had failures: {r['error'][-300:]}")
    say(f"   warm-up: one untimed pass of every chapter for {' and '.join(warm_up)}"
        + ("" if BIG in warm_up else f" ({BIG} is warm from the book build)")
        + f": {time.perf_counter() - t0:.0f} s")
    say("   time = the chapter's kernel from start to exit (citybridge run CITY --notebooks NN --no-cache);"
        " memory = the kernel's peak RSS")
    say(f"   {'chapter':<18} {BIG + ' s':>11} {small + ' s':>10} {'ratio':>6}   {BIG + ' peak':>14}"
        f" {small + ' peak':>12}")
    rows = []
    for nb in chapters(PROJECT):
        big_r, small_r = run_chapter(BIG, nb), run_chapter(small, nb)
        name = next((PROJECT / "notebooks").glob(f"{nb}_*.ipynb")).stem
        ok = big_r["rc"] == 0 and small_r["rc"] == 0
        ratio = big_r["kernel_s"] / small_r["kernel_s"] if ok and small_r["kernel_s"] > 0 else float("nan")
        rows.append({"chapter": name, BIG: big_r, small: small_r, "ratio": ratio})
        note = "" if ok else "  FAILED: " + " | ".join(f"{c}: {r['error'].splitlines()[-1] if r['error'] else '?'}"
                                                       for c, r in ((BIG, big_r), (small, small_r)) if r["rc"])
        say(f"   {name:<18} {big_r['kernel_s']:>9.1f} s {small_r['kernel_s']:>8.1f} s {ratio:>6.1f}"
            f"   {big_r['kernel_peak_gb']:>11.2f} GB {small_r['kernel_peak_gb']:>9.2f} GB{note}")
    failed = [r["chapter"] for r in rows if r[BIG]["rc"] or r[small]["rc"]]
    worst = max(rows, key=lambda r: r["ratio"] if r["ratio"] == r["ratio"] else float("inf"))
    fat = max(rows, key=lambda r: r[BIG]["kernel_peak_gb"])
    say(f"   slowest ratio: {worst['ratio']:.1f} ({worst['chapter']}); target <= {MAX_RATIO:g}: "
        f"{verdict(not failed and worst['ratio'] <= MAX_RATIO)}" + (f" (failed: {', '.join(failed)})" if failed else ""))
    say(f"   largest {BIG} kernel: {fat[BIG]['kernel_peak_gb']:.2f} GB ({fat['chapter']}); target <= "
        f"{MAX_KERNEL_GB:g} GB: {verdict(fat[BIG]['kernel_peak_gb'] <= MAX_KERNEL_GB)}")
    results["scale"] = {"small_city": label, "rows": rows, "worst_ratio": worst["ratio"],
                        "worst_chapter": worst["chapter"], "failed": failed,
                        "max_kernel_gb": fat[BIG]["kernel_peak_gb"], "max_kernel_chapter": fat["chapter"]}


# --------------------------------------------------------------------------
# indicators: citybridge indicators vs gtfs-kit
# --------------------------------------------------------------------------

def indicators_row(label: str, path: Path, runs: int = 1) -> dict:
    """Both tools on one feed and its default date, each in a fresh process, ``runs`` times each
    (alternately); the median run of each (wall and peak memory) is compared."""
    import statistics

    date = default_date(path)
    cbs, gks = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="cb-bench-ind-") as tmp:
            cbs.append(measure([CITYBRIDGE, "indicators", str(path), "--date", date, "--out", tmp]))
            meta = json.loads((Path(tmp) / "indicators.json").read_text())
        gks.append(measure([PY, str(BENCH / "gk_stats.py"), str(path), date]))
    cb = {k: statistics.median(r[k] for r in cbs) for k in ("wall_s", "peak_mb")}
    gk = {k: statistics.median(r[k] for r in gks) for k in ("wall_s", "peak_mb")}
    gk_outs = [json.loads(r["stdout"].strip().splitlines()[-1]) for r in gks]
    gk_out = gk_outs[sorted(range(runs), key=lambda k: gks[k]["wall_s"])[runs // 2]]  # the median run's steps
    row = {"feed": label, "path": str(path), "date": date, "stop_times_rows": stop_time_rows(path),
           "stop_times_on_date": meta["stop_times"], "trips_on_date": meta["trips"], "runs": runs,
           "citybridge": {**cb, "runs_wall_s": [r["wall_s"] for r in cbs], "runs_peak_mb": [r["peak_mb"] for r in cbs]},
           "gtfs_kit": {**gk, "runs_wall_s": [r["wall_s"] for r in gks], "runs_peak_mb": [r["peak_mb"] for r in gks],
                        "steps_s": gk_out["steps_s"], "stop_times_on_date": gk_out["stop_times"]},
           "speedup": gk["wall_s"] / cb["wall_s"], "memory_ratio": cb["peak_mb"] / gk["peak_mb"]}
    say(f"   {label:<42} {row['stop_times_rows']:>10,} {meta['stop_times']:>10,}  "
        f"{cb['wall_s']:>6.1f} s {cb['peak_mb']:>5.0f} MB  {gk['wall_s']:>6.1f} s {gk['peak_mb']:>5.0f} MB"
        f"  {row['speedup']:>6.1f}x {row['memory_ratio']:>6.2f}x")
    if runs > 1:
        say(f"   {'':<42} runs: citybridge " + ", ".join(f"{r['wall_s']:.2f} s" for r in cbs)
            + "; gtfs-kit " + ", ".join(f"{r['wall_s']:.1f} s" for r in gks))
    return row


def bench_indicators(results: dict, *, every_feed: bool = False) -> None:
    say("== Indicator tables: citybridge indicators vs gtfs-kit (fresh process each, same feed and date)")
    say("   gtfs-kit = read_feed + restrict_to_dates (+ expand_frequencies) + compute_trip_stats"
        " + compute_stop_stats + compute_route_stats")
    t0 = time.perf_counter()
    big, big_label = feeds.big_timetable_feed()
    cases = [(f"replica: {big_label}", big)]
    if every_feed:
        freq, freq_label = feeds.big_frequency_feed()
        cases += [("Hangzhou (data/cities)", ROOT / "data" / "cities" / "hangzhou" / "gtfs.zip"),
                  ("Santiago (data/cities)", ROOT / "data" / "cities" / "santiago" / "gtfs.zip"),
                  (f"frequency-based: {freq_label}", freq)]
    say(f"   feeds ready in bench/out/ ({time.perf_counter() - t0:.0f} s, reused when unchanged)")
    say(f"   {'feed':<42} {'stop_times':>10} {'on date':>10}  {'citybridge':>16}  {'gtfs-kit':>16}"
        f"  {'faster':>7} {'memory':>7}")
    # the replica three times each (its target is judged on it), the other feeds once
    rows = [indicators_row(label, path, runs=INDICATOR_RUNS if k == 0 else 1) for k, (label, path) in enumerate(cases)]
    say("   (faster = gtfs-kit wall / citybridge wall; memory = citybridge peak / gtfs-kit peak; on the replica,"
        f" medians of {INDICATOR_RUNS} runs each; walls include interpreter start and imports)")
    for r in rows:
        say(f"   gtfs-kit steps, {r['feed']}: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["gtfs_kit"]["steps_s"].items()))
    b = rows[0]
    say(f"   replica: {b['speedup']:.1f}x faster (target >= {MIN_SPEEDUP:g}x): {verdict(b['speedup'] >= MIN_SPEEDUP)};"
        f" {b['memory_ratio']:.2f}x gtfs-kit's peak memory (target <= {MAX_MEMORY_RATIO:g}x): "
        f"{verdict(b['memory_ratio'] <= MAX_MEMORY_RATIO)}")
    results["indicators"] = rows


# --------------------------------------------------------------------------
# unit: the developers' fast test loop
# --------------------------------------------------------------------------

def bench_unit(results: dict) -> None:
    say("== pytest -m unit (this checkout, -p no:cacheprovider)")
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-m", "pytest", "-m", "unit", "-q", "-p", "no:cacheprovider", "--durations=10"],
                          cwd=ROOT, capture_output=True, text=True, env=clean_env())
    wall = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    summary = lines[-1] if lines else proc.stderr.strip()[-200:]
    say(f"   {wall:.0f} s: {summary.strip('= ')}; target < {MAX_UNIT_S:g} s: {verdict(wall < MAX_UNIT_S)}")
    slow = [ln for ln in lines if re.match(r"^\d+\.\d+s (call|setup|teardown)", ln)][:10]
    for ln in slow:
        say(f"      {ln}")
    results["unit"] = {"wall_s": wall, "rc": proc.returncode, "summary": summary, "slowest": slow}


# --------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------

def summary_rows(results: dict) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, goal, met) for every part that ran."""
    rows = []
    if "scale" in results:
        s = results["scale"]
        rows.append(("slowest chapter ratio Santiago / small city", f"{s['worst_ratio']:.1f} ({s['worst_chapter']})",
                     f"<= {MAX_RATIO:g}", not s["failed"] and s["worst_ratio"] <= MAX_RATIO))
        rows.append(("peak memory of a Santiago chapter kernel", f"{s['max_kernel_gb']:.2f} GB ({s['max_kernel_chapter']})",
                     f"<= {MAX_KERNEL_GB:g} GB", s["max_kernel_gb"] <= MAX_KERNEL_GB))
    if "indicators" in results:
        b = results["indicators"][0]
        rows.append(("citybridge indicators vs gtfs-kit: speed", f"{b['speedup']:.1f}x", f">= {MIN_SPEEDUP:g}x",
                     b["speedup"] >= MIN_SPEEDUP))
        rows.append(("citybridge indicators vs gtfs-kit: memory", f"{b['memory_ratio']:.2f}x",
                     f"<= {MAX_MEMORY_RATIO:g}x", b["memory_ratio"] <= MAX_MEMORY_RATIO))
    if "book" in results:
        bk = results["book"]
        rows.append(("cold build, both cities", f"{bk['cold']['wall_s']:.0f} s", "printed",
                     None if bk["cold"]["rc"] == 0 else False))
        rows.append(("warm rebuild, nothing changed", f"{bk['warm']['wall_s']:.0f} s, {bk['warm']['executed']} executed",
                     "0 executed", bk["warm"]["executed"] == 0))
        rows.append((f"executions after changing {CHANGED_CITY}/{CHANGED_FILE}",
                     f"{bk['changed']['executed']} ({bk['changed']['wall_s']:.0f} s)",
                     f"{bk['expected_executions']}", bk["changed"]["executed"] == bk["expected_executions"]))
        rows.append(("cold build: three editions / English only",
                     f"{bk['editions_ratio']:.2f}x ({bk['cold']['wall_s']:.0f} s / {bk['one_edition']['wall_s']:.0f} s)",
                     f"<= {MAX_EDITIONS_RATIO:g}x", bk["editions_ratio"] <= MAX_EDITIONS_RATIO
                     and bk["one_edition"]["rc"] == 0))
    if "unit" in results:
        u = results["unit"]
        rows.append(("pytest -m unit", f"{u['wall_s']:.0f} s", f"< {MAX_UNIT_S:g} s",
                     u["wall_s"] < MAX_UNIT_S and u["rc"] == 0))
    return rows


def print_summary(results: dict, total_s: float) -> None:
    rows = summary_rows(results)
    say("== Summary")
    w = max((len(r[0]) for r in rows), default=10)
    for name, got, goal, met in rows:
        say(f"   {name:<{w}}  {got:>22}  {goal:>10}  {'(figure)' if met is None else verdict(met)}")
    say(f"   total bench time: {total_s / 60:.1f} min (load average at the end: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; other work on the machine slows every figure)")


PARTS = {"book": bench_book, "scale": bench_scale, "indicators": bench_indicators, "unit": bench_unit,
         "feeds": lambda r: bench_indicators(r, every_feed=True), "workers": extra.bench_workers,
         "air": extra.bench_air, "observed": extra.bench_observed, "resilience": extra.bench_resilience}
DEFAULT = ["book", "scale", "indicators", "unit"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=list(PARTS))
    args = ap.parse_args()
    parts = args.only or DEFAULT
    import citybridge
    import gtfs_kit

    say(f"citybridge {citybridge.__version__} bench · gtfs-kit {gtfs_kit.__version__} · Python "
        f"{platform.python_version()} · {os.cpu_count()} CPUs · "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB RAM · "
        f"load {os.getloadavg()[0]:.1f}")
    results: dict = {}
    t0 = time.perf_counter()
    for part in parts:
        PARTS[part](results)
    total = time.perf_counter() - t0
    print_summary(results, total)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({**results, "total_s": total}, indent=1, default=str),
                                      encoding="utf-8")


if __name__ == "__main__":
    main()
