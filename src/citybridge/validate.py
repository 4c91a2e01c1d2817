"""Checks of a city folder or a GTFS feed, as a readable report.

Each finding names the file, the column and the row where it applies, and
says what to do. Severities: ``fatal`` (the city cannot be built, or a
chapter will fail), ``warning`` (it builds, but a result may be wrong),
``info`` (what was assumed or what an optional file would unlock).

The command ``citybridge validate`` prints the report and exits 0 (clean or
notes only), 1 (warnings) or 2 (fatal); chapter ``00_data_check`` shows the
same findings as a table. Checking never changes any file and never raises:
an unexpected error becomes a fatal finding.

Example
-------
>>> from citybridge.validate import validate, print_report
>>> code = print_report(validate("santiago"), "santiago")      # doctest: +SKIP
"""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CitybridgeError
from .i18n import N_
from .texts import T, tr
# The checks live in their own rooms: the feed's tables (validate_feed), the profile and the
# optional inputs (validate_inputs); their public names stay importable from here.
from .findings import SEVERITIES, Finding, finding, findings_from_error  # noqa: F401
from .validate_feed import FAR_STOP_KM, check_feed_tables  # noqa: F401
from .validate_inputs import (UNLOCKS, blocking_problems, check_boundary_geometry, check_crs,  # noqa: F401
                              check_gbfs_swapped, check_gtfs_path, check_optional, check_outside_boundaries,
                              check_profile, check_realtime_inputs)


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------

def _resolve(target: str | os.PathLike[str]):
    """(city or None, gtfs path or None, findings) for a slug, city folder or feed."""
    from .city import City, SLUG_RE, load_city

    t = Path(target)
    text = str(target)
    if t.is_dir() and (t / "city.yml").is_file() or (not t.exists() and SLUG_RE.match(text)):
        try:
            city: City = load_city(target, check_files=False)
        except CitybridgeError as exc:
            return None, None, findings_from_error("fatal", exc, target)
        return city, city.gtfs_path, []
    if t.is_dir() and ((t / "stops.txt").exists() or any(t.glob("*.txt"))):
        return None, t, []
    if t.is_file() and t.suffix.lower() == ".zip":
        return None, t, []
    if t.is_dir():
        return None, None, [finding("fatal", t, T("neither a city folder (no city.yml) nor a GTFS folder (no .txt "
                                    "tables); give a city slug, a city folder, or a GTFS .zip/folder"))]
    if not t.exists():
        return None, None, [finding("fatal", t, T("no such file, folder or city; give a city slug (see data/cities), a "
                                    "city folder, or a GTFS .zip/folder"))]
    return None, None, [finding("fatal", t, T("not a GTFS feed: give the feed as a .zip file or a folder of .txt "
                                "files, or a city slug/folder"))]


def validate(target: str | os.PathLike[str], *, date: str | None = None) -> list[Finding]:
    """All findings for a city slug, a city folder, or a GTFS zip/folder.

    Parameters
    ----------
    target
        ``"santiago"``, ``data/cities/santiago``, ``feed.zip`` or a feed folder.
    date
        ``YYYYMMDD`` for the service-day check; default the date the chapters use.

    Never raises and never writes: every problem is a :class:`Finding`.
    """
    try:
        return _validate(target, date=date)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - a check must never end in a traceback
        return [finding("fatal", target, T("internal error while checking ({kind}: {error}); this is a "
                                      "bug in citybridge: please report it together with the file",
                                      kind=type(exc).__name__, error=str(exc)))]


def _validate(target, *, date: str | None) -> list[Finding]:
    from .feed import choose_date, date_choice_text, feed_date_range, prepare_day, read_feed, require_rows

    city, gtfs, findings = _resolve(target)
    if gtfs is None:
        return findings
    datum = "WGS84"
    if city is not None:
        datum = city.profile.source_datum
        findings += check_profile(city)
        findings += check_optional(city)
        if gtfs.is_dir():
            return findings
        if not gtfs.exists():
            text = (T("the GTFS feed named by 'gtfs' in city.yml is missing; put the feed's zip there or run "
                      "'citybridge fetch {slug}' to download it", slug=city.slug) if city.profile.download else
                    T("the GTFS feed named by 'gtfs' in city.yml is missing; put the feed's zip there"))
            findings.append(finding("fatal", gtfs, text, "gtfs"))
            return findings
    try:
        feed = read_feed(gtfs, datum=datum)
        require_rows(feed, gtfs)
    except CitybridgeError as exc:
        return findings + findings_from_error("fatal", exc, gtfs)
    findings += check_feed_tables(feed, str(gtfs))
    if city is not None:
        findings += check_outside_boundaries(city, feed)
        findings += check_gbfs_swapped(city, feed)
        findings += check_realtime_inputs(city, feed)
    else:
        findings.append(finding("info", gtfs, T("a bare feed: to build its chapters, make it a city with "
                                  "'citybridge new-city SLUG --gtfs {feed}'", feed=str(gtfs))))
    try:
        chosen = not date
        date = date or choose_date(feed)
        day = prepare_day(feed, date, crs=city.profile.crs if city is not None else None)
        if chosen:
            findings += [finding("info", gtfs, note) for note in date_choice_text(day.date)]
        lo, hi = feed_date_range(feed)
        first, last = f"{lo:%Y%m%d}", f"{hi:%Y%m%d}"
        findings.append(finding("info", gtfs, T("service from {first} to {last}; analysis date {date}: "
                                                "{trips:,} trips on {routes:,} routes, {stops:,} stops served",
                                                first=first, last=last, date=str(day.date),
                                                trips=len(day.trips), routes=int(day.trips["route_id"].nunique()),
                                                stops=len(day.stop_ids))))
    except CitybridgeError as exc:
        findings += findings_from_error("fatal", exc, gtfs)
    return findings


def findings_table(findings: list[Finding], *, relative_to: Path | None = None) -> pd.DataFrame:
    """Findings as a table: severity, file, column, row, message (most severe first).

    ``relative_to`` shortens file paths (e.g. to the city folder). The
    ``message`` column holds each finding's text as the check wrote it (a
    :class:`~citybridge.texts.Text` is translated when the table is shown).
    """
    df = pd.DataFrame([(f.severity, f.file, f.column, f.row, f.text) for f in findings],
                      columns=["severity", "file", "column", "row", "message"])
    if relative_to is not None:
        df["file"] = [_short(f, Path(relative_to)) for f in df["file"]]
    df["severity"] = pd.Categorical(df["severity"], SEVERITIES, ordered=True)
    return df.sort_values("severity", kind="stable").reset_index(drop=True)


def exit_code(findings: list[Finding]) -> int:
    """0 clean (notes only), 1 warnings, 2 fatal."""
    sev = {f.severity for f in findings}
    return 2 if "fatal" in sev else 1 if "warning" in sev else 0


def _short(file: str, base: Path | None = None) -> str:
    base = base or Path.cwd()
    try:
        rel = os.path.relpath(file, base)
    except ValueError:
        return file
    return rel if not rel.startswith("..") else file


_HEAD = {
    "fatal": N_("FATAL: the city cannot be built (or a chapter will fail) until these are fixed"),
    "warning": N_("WARNINGS: the city builds, but a result may be wrong"),
    "info": N_("NOTES: what was assumed, and what optional files would unlock"),
}
_VERDICT = {0: N_("OK"), 1: N_("usable, with warnings"), 2: N_("NOT usable yet")}


def location(f: Finding) -> str:
    """Where a finding applies, in the language in force: ``file, column 'c', row r``
    (the file shortened to the current folder; column and row only when known)."""
    return ", ".join(x for x in (_short(f.file), tr("column '{column}'", column=f.column) if f.column else "",
                                 tr("row {row}", row=f.row) if f.row else "") if x)


def print_report(findings: list[Finding], target: object, stream=None) -> int:
    """Print findings grouped by severity and return the exit code.

    Each finding shows where (file, column, row) and what to do; lines are
    wrapped at 100 characters.
    """
    stream = stream or sys.stdout
    code = exit_code(findings)
    n = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    print(tr("citybridge validate {target}: {verdict} ({fatal} fatal, {warnings} warning(s), {notes} note(s)); "
             "exit code {code}", target=str(target), verdict=T(_VERDICT[code]), fatal=n["fatal"],
             warnings=n["warning"], notes=n["info"], code=code), file=stream)
    k = 0
    for sev in SEVERITIES:
        items = [x for x in findings if x.severity == sev]
        if not items:
            continue
        print("\n" + tr(_HEAD[sev]), file=stream)
        for f in items:
            k += 1
            print(f"{k:3}. {location(f)}:", file=stream)
            for para in f.message.split("\n"):
                print(textwrap.fill(para, width=100, initial_indent="     ", subsequent_indent="     ",
                                    break_long_words=False, break_on_hyphens=False), file=stream)
    if code == 2:
        print("\n" + tr("Fix the FATAL items first, then run this command again."), file=stream)
    elif code == 1:
        print("\n" + tr("The city can be built (citybridge build); check each warning against the results."),
              file=stream)
    return code


# --------------------------------------------------------------------------
# Tables for chapter 00
# --------------------------------------------------------------------------

def inputs_table(city) -> pd.DataFrame:
    """The city's inputs: which are given, present, their size and what they unlock.

    Returns
    -------
    DataFrame
        ``input`` (gtfs, boundaries, population, gbfs), ``file`` (relative to
        the city folder, empty when not given), ``status`` (``present``,
        ``missing``, ``not given``), ``size_kb`` (kilobytes, NaN when absent),
        ``unlocks`` (what it is used for). Status and unlocks are the English
        messages of the package catalog (a table shows them translated).
    """
    rows = []
    unlocks = {"gtfs": N_("every chapter (required)"), **UNLOCKS}
    for kind in ("gtfs", "boundaries", "population", "gbfs"):
        p = city.gtfs_path if kind == "gtfs" else city.optional_path(kind)
        if p is None:
            rows.append((kind, "", N_("not given"), np.nan, unlocks[kind]))
            continue
        if p.is_dir():
            size = sum(q.stat().st_size for q in p.rglob("*") if q.is_file())
        else:
            size = p.stat().st_size if p.exists() else np.nan
        rows.append((kind, _short(str(p), city.folder), N_("present") if p.exists() else N_("missing"),
                     size / 1024 if size == size else np.nan, unlocks[kind]))
    return pd.DataFrame(rows, columns=["input", "file", "status", "size_kb", "unlocks"])


def feed_inventory(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The tables of a GTFS feed: ``file``, ``rows`` (data rows, int) and ``columns`` (their names).

    Raises
    ------
    FeedError
        The feed cannot be read (see :func:`citybridge.feed.read_tables`).
    """
    from .feed import read_tables

    tables, _ = read_tables(Path(path))
    rows = [(f"{name}.txt", len(df), ", ".join(map(str, df.columns))) for name, df in sorted(tables.items())]
    return pd.DataFrame(rows, columns=["file", "rows", "columns"])


def agencies_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The operators listed in ``agency.txt``: ``agency_name``, ``agency_timezone``, ``agency_url``
    (empty where absent), exactly as written in the feed."""
    from .feed import read_tables

    tables, _ = read_tables(Path(path))
    ag = tables.get("agency", pd.DataFrame())
    cols = ["agency_name", "agency_timezone", "agency_url"]
    return pd.DataFrame({c: ag[c] if c in ag else [""] * len(ag) for c in cols})


def summary_sentence(findings: list[Finding], name: str) -> str:
    """One sentence, in the language in force: how many problems of each kind, and whether
    the city can be built."""
    n = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    message = {0: N_("{name}: {fatal} fatal problem(s), {warnings} warning(s) and {notes} note(s); "
                     "its data pass every check."),
               1: N_("{name}: {fatal} fatal problem(s), {warnings} warning(s) and {notes} note(s); "
                     "it can be built, but check the warnings below."),
               2: N_("{name}: {fatal} fatal problem(s), {warnings} warning(s) and {notes} note(s); "
                     "it cannot be fully built until the fatal problems below are fixed.")}[exit_code(findings)]
    return tr(message, name=name, fatal=n["fatal"], warnings=n["warning"], notes=n["info"])
