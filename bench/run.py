"""``make bench``: measure citybridge against gtfs-kit and the book build.

Prints, measured in this one run:

1. the headless indicator set (``citybridge indicators``) against gtfs-kit's
   ``compute_trip_stats`` + ``compute_stop_stats`` + ``compute_route_stats``
   for the same feed and date: wall time and peak memory of each, each in a
   fresh process (``bench/measure.py``), and the ratios, for the two sample
   cities, a >= 3-million stop_times replica and a frequency-based feed that
   expands to over a million stop times (``bench/feeds.py`` builds both into
   bench/out/);
2. the book: a cold build (``citybridge build --no-cache`` on a temporary
   copy of the project), a warm rebuild with nothing changed, and the largest
   built page (its own HTML file, without the shared ``_static`` files);
3. parallel builds: four cities (the two samples and copies of them under
   other slugs) built with ``--workers 1`` and ``--workers 2``;
4. clean air (chapter 05): segment grouping and NOx/PM2.5 emissions with
   Santiago's fleet classes, for the two cities and the frequency-based big
   feed (in this process).

5. observed operations (chapter 08) on Santiago's GTFS-Realtime capture;
6. the resilience criticality ranking (chapter 09): every metro section and
   the ten busiest bus corridors of each shipped city, timed in a fresh
   process after the service day is loaded.

Options: ``--only indicators|book|workers|air|observed|resilience`` (repeatable) runs a part only.
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
import zipfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

import feeds  # noqa: E402

PY = sys.executable
CITYBRIDGE = str(Path(PY).parent / "citybridge")


def say(text: str = "") -> None:
    print(text, flush=True)


def measure(cmd: list[str], cwd: Path | None = None) -> dict:
    """Run ``cmd`` in a fresh process under bench/measure.py."""
    proc = subprocess.run([PY, str(BENCH / "measure.py"), *cmd], capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise SystemExit(f"measure failed: {proc.stderr[-2000:]}")
    r = json.loads(proc.stdout)
    if r["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {r['rc']}):\n{r['stderr'][-3000:]}")
    return r


def stop_time_rows(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        with zf.open(next(i for i in zf.infolist() if i.filename.endswith("stop_times.txt"))) as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1


def default_date(path: Path) -> str:
    """The workbook's default analysis date (citybridge.feed.choose_date)."""
    code = ("import sys; from citybridge.indicators import read_day; "
            "print(read_day(sys.argv[1]).date)")
    return subprocess.run([PY, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout.strip()


# --------------------------------------------------------------------------
# 1. indicators
# --------------------------------------------------------------------------

def bench_indicators(results: dict) -> None:
    say("== Indicator tables: citybridge indicators vs gtfs-kit (fresh process each, same feed and date)")
    say("   gtfs-kit = read_feed + restrict_to_dates (+ expand_frequencies) + compute_trip_stats"
        " + compute_stop_stats + compute_route_stats")
    t0 = time.perf_counter()
    big, big_label = feeds.big_timetable_feed()
    freq, freq_label = feeds.big_frequency_feed()
    say(f"   big feeds ready in bench/out/ ({time.perf_counter() - t0:.0f} s, reused when unchanged)")
    cases = [("Hangzhou sample", ROOT / "data" / "cities" / "hangzhou" / "gtfs.zip"),
             ("Santiago sample (frequencies)", ROOT / "data" / "cities" / "santiago" / "gtfs.zip"),
             (f"replica: {big_label}", big),
             (f"frequency-based: {freq_label}", freq)]
    rows = []
    hdr = (f"   {'feed':<42} {'stop_times':>10} {'on date':>10}  {'citybridge':>16}  {'gtfs-kit':>16}"
           f"  {'faster':>7} {'memory':>7}")
    say(hdr)
    for label, path in cases:
        date = default_date(path)
        with tempfile.TemporaryDirectory(prefix="cb-bench-ind-") as tmp:
            cb = measure([CITYBRIDGE, "indicators", str(path), "--date", date, "--out", tmp])
            meta = json.loads((Path(tmp) / "indicators.json").read_text())
        gk = measure([PY, str(BENCH / "gk_stats.py"), str(path), date])
        gk_out = json.loads(gk["stdout"].strip().splitlines()[-1])
        n_rows = stop_time_rows(path)
        row = {"feed": label, "path": str(path), "date": date, "stop_times_rows": n_rows,
               "stop_times_on_date": meta["stop_times"], "trips_on_date": meta["trips"],
               "citybridge": {"wall_s": cb["wall_s"], "peak_mb": cb["peak_mb"]},
               "gtfs_kit": {"wall_s": gk["wall_s"], "peak_mb": gk["peak_mb"], "steps_s": gk_out["steps_s"],
                            "compute_s": gk_out["compute_s"], "stop_times_on_date": gk_out["stop_times"]},
               "speedup": gk["wall_s"] / cb["wall_s"], "memory_ratio": cb["peak_mb"] / gk["peak_mb"]}
        rows.append(row)
        say(f"   {label:<42} {n_rows:>10,} {meta['stop_times']:>10,}  "
            f"{cb['wall_s']:>6.1f} s {cb['peak_mb']:>5.0f} MB  {gk['wall_s']:>6.1f} s {gk['peak_mb']:>5.0f} MB"
            f"  {row['speedup']:>6.1f}x {row['memory_ratio']:>6.2f}x")
    say("   (faster = gtfs-kit wall / citybridge wall; memory = citybridge peak / gtfs-kit peak;"
        " walls include interpreter start and imports)")
    for r in rows:
        s = r["gtfs_kit"]["steps_s"]
        say(f"   gtfs-kit steps, {r['feed']}: " + ", ".join(f"{k} {v:.1f} s" for k, v in s.items()))
    big_row = rows[2]
    say(f"   target: replica >= 10x faster with no more memory, whole run < 10 s -> "
        f"{big_row['speedup']:.1f}x, {big_row['memory_ratio']:.2f}x memory, {big_row['citybridge']['wall_s']:.1f} s: "
        + ("MET" if big_row["speedup"] >= 10 and big_row["memory_ratio"] <= 1 and big_row["citybridge"]["wall_s"] < 10
           else "NOT MET"))
    results["indicators"] = rows


# --------------------------------------------------------------------------
# 2. book
# --------------------------------------------------------------------------

def copy_project(dest: Path, extra_cities: dict[str, str] | None = None) -> Path:
    """What a build reads (notebooks, book sources, data), as tests/conftest.py copies it;
    ``extra_cities`` adds copies of sample cities under other slugs ({new: source})."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "notebooks", dest / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "data", dest / "data")
    shutil.copytree(ROOT / "book", dest / "book",
                    ignore=shutil.ignore_patterns("_build", "cities", "compare", "_toc.yml", "conf.py",
                                                  "build-report.md"))
    for new, src in (extra_cities or {}).items():
        folder = dest / "data" / "cities" / new
        shutil.copytree(ROOT / "data" / "cities" / src, folder)
        yml = folder / "city.yml"
        text = yml.read_text(encoding="utf-8")
        text = re.sub(r"^name: (.*)$", lambda m: f"name: {m.group(1)} (copy {new})", text, count=1, flags=re.M)
        yml.write_text(text, encoding="utf-8")
    return dest


def build(project: Path, *args: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([CITYBRIDGE, "build", *args], cwd=project, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"citybridge build {' '.join(args)} failed in {project}:\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return wall


def pages(html: Path) -> list[tuple[int, Path]]:
    return sorted(((p.stat().st_size, p) for p in html.rglob("*.html") if "_static" not in p.parts),
                  reverse=True)


def bench_book(results: dict) -> None:
    say("== Book (two sample cities, temporary copy of the project)")
    with tempfile.TemporaryDirectory(prefix="cb-bench-book-") as tmp:
        project = copy_project(Path(tmp) / "p")
        cold = build(project, "--no-cache")
        say(f"   cold build (citybridge build --no-cache):       {cold:7.1f} s")
        warm = build(project)
        say(f"   warm rebuild, nothing changed (citybridge build): {warm:7.1f} s")
        html = project / "book" / "_build" / "html"
        ps = pages(html)
        size, page = ps[0]
        say(f"   largest built page: {page.relative_to(html)} {size / 1e6:.2f} MB (own HTML, shared _static "
            f"excluded); limit 2 MB: {'MET' if size <= 2e6 else 'NOT MET'}")
        say("   next largest: " + ", ".join(f"{p.relative_to(html)} {s / 1e6:.2f} MB" for s, p in ps[1:5]))
        static = sum(p.stat().st_size for p in (html / "_static").rglob("*") if p.is_file())
        say(f"   shared _static: {static / 1e6:.1f} MB (loaded once, cached by the browser)")
        results["book"] = {"cold_s": cold, "warm_s": warm, "largest_page": str(page.relative_to(html)),
                           "largest_page_bytes": size,
                           "pages": {str(p.relative_to(html)): s for s, p in ps}}


def bench_workers(results: dict) -> None:
    say("== Parallel build: 4 cities (2 samples + copies under other slugs), every notebook executed,"
        " fresh copy each")
    extra = {"hangzhou-b": "hangzhou", "santiago-b": "santiago"}
    runs = {}
    for w in (1, 2):
        with tempfile.TemporaryDirectory(prefix="cb-bench-workers-") as tmp:
            project = copy_project(Path(tmp) / "p", extra)
            t0 = time.perf_counter()
            proc = subprocess.run([PY, str(BENCH / "build_timed.py"), str(project), str(w)],
                                  capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"build with --workers {w} failed:\n{proc.stderr[-3000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            if r["failed"] or r["city_errors"]:
                raise SystemExit(f"build with --workers {w}: failures {r['failed']} {r['city_errors']}")
            r["wall_s"] = wall
            runs[w] = r
        say(f"   --workers {w}: {r['wall_s']:7.1f} s  (notebooks {r['notebooks_s']:.1f} s for {r['jobs']} jobs,"
            f" HTML {r['html_s']:.1f} s)")
    ratio = runs[1]["wall_s"] / runs[2]["wall_s"]
    nb_ratio = runs[1]["notebooks_s"] / runs[2]["notebooks_s"]
    say(f"   speed-up with 2 workers: {ratio:.2f}x whole build, {nb_ratio:.2f}x notebook phase"
        f" (target >= 1.6x): {'MET' if ratio >= 1.6 else 'NOT MET'}")
    results["workers"] = {"runs": runs, "speedup": ratio, "notebook_speedup": nb_ratio}


def bench_air(results: dict) -> None:
    say("== Clean air: segment groups and NOx/PM2.5 per segment (chapter 05), in this process")
    from citybridge import air
    from citybridge.city import load_city
    from citybridge.feed import prepare_day, read_feed

    classes = load_city(ROOT / "data" / "cities" / "santiago").profile.fleet_classes
    freq, freq_label = feeds.big_frequency_feed()
    cases = [("Hangzhou (data/cities)", ROOT / "data" / "cities" / "hangzhou" / "gtfs.zip", "EPSG:32650"),
             ("Santiago (data/cities)", ROOT / "data" / "cities" / "santiago" / "gtfs.zip", "EPSG:32719"),
             (f"frequency-based: {freq_label}", freq, "EPSG:32719")]
    rows = []
    say(f"   {'feed':<42} {'stop events':>11} {'groups':>9} {'grouping':>9} {'emissions':>10}")
    for label, path, crs in cases:
        day = prepare_day(read_feed(path), default_date(path), crs=crs)
        t0 = time.perf_counter()
        g = air.segment_groups(day)
        t1 = time.perf_counter()
        em = air.segment_emissions(g, classes)
        t2 = time.perf_counter()
        row = {"feed": label, "stop_events": len(day.stop_times), "groups": len(g), "grouping_s": t1 - t0,
               "emissions_s": t2 - t1, "nox_t_per_day": float(em["nox_g"].sum() / 1e6)}
        rows.append(row)
        say(f"   {label:<42} {row['stop_events']:>11,} {row['groups']:>9,} {row['grouping_s']:>7.1f} s "
            f"{row['emissions_s']:>8.2f} s")
    say("   target: factors applied to grouped segments, never per trip: emissions < 5 s for a network of "
        "3.7 million stop events (grouping is dominated by citybridge.speed.segment_speeds)")
    results["air"] = rows
def bench_observed(results: dict) -> None:
    """Chapter 08 on Santiago's shipped capture (about 7,100 buses x 4 snapshots), in a fresh process."""
    say("== observed operations (chapter 08): Santiago's GTFS-Realtime capture")
    code = ("import json, time; from citybridge.city import load_city; from citybridge import observed_view as V; "
            "c = load_city('santiago'); t = time.perf_counter(); o = V.analyse(c); "
            "print(json.dumps({'s': time.perf_counter() - t, 'positions': len(o.positions), "
            "'lines': len(o.lines), 'moves': len(o.moves)}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    say(f"   analyse: {r['s']:.1f} s for {r['positions']:,} positions against {r['lines']:,} route-direction lines"
        f" ({r['moves']:,} moves); target <= 60 s: {'MET' if r['s'] <= 60 else 'NOT MET'}")
    results["observed"] = r
CRITICALITY = """
import json, sys, time
from citybridge import access, criticality, resilience
from citybridge.city import load_city
from citybridge.feed import feed_day
city = load_city(sys.argv[1])
day = feed_day(city)
d = access.districts(city)
layer = access.population_layer(city)
t0 = time.perf_counter()
base = resilience.baseline(day, d, periods=city.periods, layer=layer, people=False)
t1 = time.perf_counter()
crit = criticality.criticality(day, d, periods=city.periods, layer=layer, base=base)
took = time.perf_counter() - t0
sec = crit[crit["kind"] == "metro section"]
print(json.dumps({"seconds": took, "stations_seconds": t1 - t0, "sections": len(sec),
                  "corridors": int((crit["kind"] == "bus corridor").sum()),
                  "stop_times": len(day.stop_times),
                  "top": [[r.label, round(r.pop_lose_frequent)] for r in sec.head(5).itertuples()]}))
"""


def bench_resilience(results: dict) -> None:
    say("== Resilience: criticality ranking of every metro section and the 10 busiest bus corridors")
    from citybridge.city import list_cities

    out = {}
    for slug in list_cities(ROOT / "data" / "cities"):
        proc = subprocess.run([PY, "-c", CRITICALITY, slug], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            say(f"{slug:>10}: failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else '?'}")
            continue
        r = json.loads(proc.stdout)
        out[slug] = r
        say(f"{slug:>10}: {r['sections']} metro sections + {r['corridors']} bus corridors ranked in "
            f"{r['seconds']:.1f} s, of which {r['stations_seconds']:.1f} s for the day's stations table "
            f"(access.stations) and {r['seconds'] - r['stations_seconds']:.1f} s for the ranking "
            f"({r['stop_times']:,} stop times)")
    results["resilience"] = out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts_all = ["indicators", "book", "workers", "air", "observed", "resilience"]
    ap.add_argument("--only", action="append", choices=parts_all)
    args = ap.parse_args()
    parts = args.only or parts_all
    import citybridge
    import gtfs_kit

    say(f"citybridge {citybridge.__version__} bench · gtfs-kit {gtfs_kit.__version__} · Python "
        f"{platform.python_version()} · {os.cpu_count()} CPUs · "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB RAM")
    results: dict = {}
    t0 = time.perf_counter()
    for part in parts:
        {"indicators": bench_indicators, "book": bench_book, "workers": bench_workers, "air": bench_air,
         "observed": bench_observed, "resilience": bench_resilience}[part](results)
    say(f"bench finished in {time.perf_counter() - t0:.0f} s")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
