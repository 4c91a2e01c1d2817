"""Paths and helpers shared by the bench's parts (bench/run.py, bench/extra.py)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PY = sys.executable
CITYBRIDGE = str(Path(PY).parent / "citybridge")


def say(text: str = "") -> None:
    """Print one line of the bench's report at once."""
    print(text, flush=True)


def measure(cmd: list[str], cwd: Path | None = None) -> dict:
    """Run ``cmd`` in a fresh process under bench/measure.py: exit code, wall seconds, peak MB, output."""
    proc = subprocess.run([PY, str(BENCH / "measure.py"), *cmd], capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise SystemExit(f"measure failed: {proc.stderr[-2000:]}")
    r = json.loads(proc.stdout)
    if r["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {r['rc']}):\n{r['stderr'][-3000:]}")
    return r


def stop_time_rows(path: Path) -> int:
    """Number of data rows of stop_times.txt in the zip ``path``."""
    with zipfile.ZipFile(path) as zf:
        with zf.open(next(i for i in zf.infolist() if i.filename.endswith("stop_times.txt"))) as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1


def default_date(path: Path) -> str:
    """The workbook's default analysis date of the feed at ``path`` (``citybridge.indicators.read_day``);
    where that function has moved, the weekday of the feed's first week with the most services of
    calendar.txt (both tools are then given that same date)."""
    code = ("import sys; from citybridge.indicators import read_day; "
            "print(read_day(sys.argv[1]).date)")
    proc = subprocess.run([PY, "-c", code, str(path)], capture_output=True, text=True)
    if proc.returncode == 0 and re.fullmatch(r"\d{8}", proc.stdout.strip()):
        return proc.stdout.strip()
    return busiest_first_weekday(path)


def busiest_first_weekday(path: Path) -> str:
    """YYYYMMDD of the weekday, in the first full week (Monday to Friday) of calendar.txt, with the
    most services (the earliest of equals)."""
    import csv
    import datetime as dt
    import io

    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("calendar.txt"))
        rows = list(csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8-sig")))
    parse = lambda s: dt.datetime.strptime(s.strip(), "%Y%m%d").date()  # noqa: E731
    first = min(parse(r["start_date"]) for r in rows)
    monday = first + dt.timedelta(days=(7 - first.weekday()) % 7)
    week = [monday + dt.timedelta(days=k) for k in range(5)]
    count = {d: sum(r[days[d.weekday()]].strip() == "1" and parse(r["start_date"]) <= d <= parse(r["end_date"])
                    for r in rows) for d in week}
    return max(count, key=lambda d: (count[d], -d.toordinal())).strftime("%Y%m%d")


def copy_project(dest: Path, extra_cities: dict[str, str] | None = None) -> Path:
    """What a build reads (notebooks, book sources, data), as tests/conftest.py copies it;
    ``extra_cities`` adds copies of shipped cities under other slugs ({new: source})."""
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
