"""The ``citybridge`` command.

Every sub-command prints a clear message instead of a traceback when the
input is wrong, and exits non-zero. Every command takes ``--lang en|es|zh``
(before or after the command's name); without it, ``CITYBRIDGE_LANG`` and
then the locale of the environment choose the language of its messages
(:func:`citybridge.i18n.resolve_language`).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__, i18n
from .errors import CitybridgeError
from .texts import tr


def _csv_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so a build that is told to stop
    stops its children (kernels, Sphinx) and leaves the previous book as it was."""
    import signal

    def _raise(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        pass


def _cmd_build(args: argparse.Namespace) -> int:
    from .book import build
    from .city import list_cities, project_root
    from .texts import editions_of

    editions = editions_of(args.editions, what="--editions")
    _stop_on_sigterm()

    root = project_root()
    cities = _csv_list(args.cities)
    if cities:
        known = list_cities(root / "data" / "cities")
        unknown = [c for c in cities if c not in known]
        if unknown:
            raise CitybridgeError(tr("unknown city {unknown} (cities present in {folder}: {known})",
                                     unknown=", ".join(unknown), folder=str(root / "data" / "cities"),
                                     known=", ".join(known) or tr("none")))
    if args.workers < 1:
        raise CitybridgeError(tr("--workers must be 1 or more"))
    report, index = build(root, cities=cities, workers=args.workers, scheduler=args.scheduler,
                          use_cache=not args.no_cache, strict=args.strict,
                          editions=editions)
    ran = sum(1 for r in report.results if r.ok and not r.cached)
    reused = sum(1 for r in report.results if r.cached)
    print(tr("notebooks: {ran} executed, {reused} reused unchanged, {failed} failed", ran=ran, reused=reused,
             failed=len(report.failures)))
    for slug, err in report.city_errors.items():
        print(tr("city '{slug}' was not built:", slug=slug) + "\n  " + err.replace("\n", "\n  "), file=sys.stderr)
    for r in report.failures:
        print(tr("FAILED {label}: {error}", label=r.job.label, error=r.error.splitlines()[0] if r.error else ""),
              file=sys.stderr)
    print(tr("book: {index}", index=str(index)))
    if report.failures or report.city_errors:
        print(tr("see the 'Build report' page of the book for every failure and its reason"), file=sys.stderr)
        return 1
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .city import project_root
    from .pipeline import CACHE_DIR_NAME, plan
    from .runner import execute, quiet_kernels

    _stop_on_sigterm()
    root = project_root()
    jobs, errors = plan(root, cities=[args.city], notebooks=_csv_list(args.notebooks))
    if errors and not any(j.city == args.city for j in jobs):
        raise CitybridgeError(errors[args.city])
    for err in errors.values():  # e.g. only chapter 00 is run: it shows why
        _say(f"citybridge run: {err}")
    if not jobs:
        raise CitybridgeError(tr("no notebook matches --notebooks {given}; notebooks are named like 01_network "
                                 "(give 01 or 01_network)", given=repr(args.notebooks)))

    with quiet_kernels(root / CACHE_DIR_NAME):
        results = execute(jobs, cache_dir=None if args.no_cache else root / CACHE_DIR_NAME, cwd=root / "notebooks")
    bad = 0
    for r in results:
        state = "ok" if r.ok else tr("FAILED")
        print(f"{state:6} {r.job.output}" + (f"\n       {r.error}" if not r.ok else ""))
        bad += not r.ok
    return 1 if bad else 0


def _cmd_samples(args: argparse.Namespace) -> int:
    from citybridge_samples import build_samples

    from .city import project_root

    paths = build_samples(project_root())
    for p in paths:
        print(p)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validate import print_report, validate

    findings = validate(args.target)
    return print_report(findings, args.target)


def _cmd_new_city(args: argparse.Namespace) -> int:
    from .city import project_root
    from .newcity import new_city

    folder = new_city(args.slug, Path(args.gtfs), boundaries=_path(args.boundaries),
                      population=_path(args.population), gbfs=_path(args.gbfs),
                      root=project_root() / "data" / "cities")
    print(tr("created {folder}", folder=str(folder)))
    print(tr("next: check {profile} (lines marked CHECK), then run: citybridge validate {slug}",
             profile=str(folder / "city.yml"), slug=args.slug))
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from .fetch import fetch_city

    path = fetch_city(args.city)
    print(tr("downloaded and verified {path}", path=str(path)))
    return 0


def _cmd_indicators(args: argparse.Namespace) -> int:
    # stop_times starts streaming on other threads before pandas and the engine are loaded, so the two
    # overlap (the stream needs numpy and pyarrow only); an unusable feed starts nothing, and is reported
    # by the reading proper
    from .feed.stream import start_stop_times

    started = start_stop_times(args.feed)
    try:
        from .indicators import run_indicators

        paths = run_indicators(Path(args.feed), args.date, Path(args.out), fmt=args.format, datum=args.datum,
                               stop_times=started)
    finally:
        if started is not None:
            started.cancel()
    for p in paths:
        print(p)
    return 0


def _cmd_realtime_record(args: argparse.Namespace) -> int:
    from .city import load_city
    from .realtime import record

    city = load_city(args.city, check_files=False)
    spec = city.profile.realtime
    rel = spec.vehicle_positions if spec is not None and spec.vehicle_positions else "realtime"
    folder = city.folder / rel
    every, minutes = f"{args.every:g}", f"{args.minutes:g}"
    print(tr("recording {url} every {every} s for {minutes} min into {folder}", url=args.url,
             every=every, minutes=minutes, folder=str(folder)))
    res = record(folder, args.url, every_s=args.every, minutes=args.minutes)
    for m in res.messages:
        print(m, file=sys.stderr)
    for p in res.saved:
        print(tr("saved {path}", path=str(p)))
    print(tr("{saved} snapshot(s) saved from {polls} poll(s)", saved=len(res.saved), polls=res.polls))
    if spec is None or not spec.vehicle_positions:
        print(tr("to use them, add to {profile}:", profile=str(city.folder / "city.yml"))
              + f"\nrealtime:\n  vehicle_positions: {rel}")
    if not res.saved:
        raise CitybridgeError(tr("no snapshot could be saved from {url}; see the messages above", url=args.url))
    return 0


def _path(text: str | None) -> Path | None:
    return Path(text) if text else None


def make_parser() -> argparse.ArgumentParser:
    """The command's parser, its help in the language in force; ``--lang`` is taken before
    or after a command's name."""
    lang = argparse.ArgumentParser(add_help=False)
    lang.add_argument("--lang", default=argparse.SUPPRESS, metavar="|".join(i18n.LANGUAGES),
                      help=tr("language of the messages (default: CITYBRIDGE_LANG, then the locale)"))
    p = argparse.ArgumentParser(prog="citybridge", parents=[lang], description=tr(
        "Hangzhou–Santiago public-transport workbook: execute the notebooks for every city "
        "in data/cities/ and build the book."))
    p.add_argument("--version", action="version", version=f"citybridge {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    b = sub.add_parser("build", parents=[lang],
                       help=tr("execute every notebook for every city and build the book"))
    b.add_argument("--cities", help=tr("comma-separated city slugs (default: every city in data/cities)"))
    b.add_argument("--workers", type=int, default=1, help=tr("parallel notebook processes (default 1)"))
    b.add_argument("--scheduler", help=tr("address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786"))
    b.add_argument("--no-cache", action="store_true", help=tr("re-execute every notebook"))
    b.add_argument("--strict", action="store_true", help=tr("treat Sphinx warnings as errors"))
    b.add_argument("--editions", default="en,es,zh",
                   help=tr("languages of the book, comma-separated (default en,es,zh: English, Spanish, Chinese)"))
    b.set_defaults(func=_cmd_build)

    r = sub.add_parser("run", parents=[lang], help=tr("execute one city's notebooks (no HTML)"))
    r.add_argument("city", help=tr("city slug, e.g. santiago"))
    r.add_argument("--notebooks", help=tr("comma-separated notebook numbers or names, e.g. 01,02"))
    r.add_argument("--no-cache", action="store_true", help=tr("re-execute even when unchanged"))
    r.set_defaults(func=_cmd_run)

    v = sub.add_parser("validate", parents=[lang],
                       help=tr("check a city folder or GTFS file; exit 0 ok, 1 warnings, 2 fatal"))
    v.add_argument("target", help=tr("city slug, city folder, or GTFS zip/folder"))
    v.set_defaults(func=_cmd_validate)

    n = sub.add_parser("new-city", parents=[lang],
                       help=tr("create data/cities/SLUG from a GTFS zip (and optional files)"))
    n.add_argument("slug", help=tr("folder name for the city: lower case letters, digits, - or _"))
    n.add_argument("--gtfs", required=True, help=tr("the city's GTFS zip (or folder)"))
    n.add_argument("--boundaries", help=tr("polygons of districts (GeoJSON, GeoPackage, shapefile zip)"))
    n.add_argument("--population", help=tr("population per district (CSV)"))
    n.add_argument("--gbfs", help=tr("bike-share GBFS folder (station_information.json or gbfs.json)"))
    n.set_defaults(func=_cmd_new_city)

    f = sub.add_parser("fetch", parents=[lang],
                       help=tr("download a city's official feed named in city.yml (url + sha256)"))
    f.add_argument("city", help=tr("city slug or folder"))
    f.set_defaults(func=_cmd_fetch)

    i = sub.add_parser("indicators", parents=[lang],
                       help=tr("headless indicator tables for any feed (no notebooks)"))
    i.add_argument("feed", help=tr("GTFS zip or folder"))
    i.add_argument("--date", required=True, help=tr("service date, YYYYMMDD"))
    i.add_argument("--out", required=True, help=tr("output folder (created)"))
    i.add_argument("--format", choices=["parquet", "csv"], default="parquet", help=tr("table format (default parquet)"))
    i.add_argument("--datum", choices=["WGS84", "GCJ02", "BD09"], default="WGS84",
                   help=tr("datum of the feed's coordinates (default WGS84)"))
    i.set_defaults(func=_cmd_indicators)

    rt = sub.add_parser("realtime", parents=[lang], help=tr("GTFS-Realtime tools (record snapshots)"))
    rsub = rt.add_subparsers(dest="realtime_command", metavar="ACTION", required=True)
    rr = rsub.add_parser("record", parents=[lang],
                         help=tr("poll a GTFS-Realtime endpoint and store timestamped snapshots"))
    rr.add_argument("city", help=tr("city slug or folder"))
    rr.add_argument("--url", required=True, help=tr("the GTFS-Realtime feed address (http:// or https://)"))
    rr.add_argument("--every", type=float, required=True, help=tr("seconds between polls (1 or more)"))
    rr.add_argument("--for", dest="minutes", type=float, required=True, help=tr("minutes to record (at most 1440)"))
    rr.set_defaults(func=_cmd_realtime_record)

    s = sub.add_parser("samples", parents=[lang],
                       help=tr("regenerate the illustrative sample cities, deterministically"))
    s.set_defaults(func=_cmd_samples)
    return p


def _silence_stdout() -> None:
    """Point stdout at /dev/null (the reader closed the pipe, e.g. ``| head``),
    so the interpreter's final flush does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _say(text: str) -> None:
    try:
        print(text, file=sys.stderr)
    except (OSError, ValueError):
        pass


def chosen_language(argv: list[str]) -> str:
    """The language of a command line's messages: its ``--lang`` (anywhere on the line),
    else ``CITYBRIDGE_LANG``, else the locale (:func:`citybridge.i18n.resolve_language`).

    Raises
    ------
    CitybridgeError
        ``--lang`` (or ``CITYBRIDGE_LANG``) names a language the workbook does not have;
        the message, in the environment's language, lists the languages.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--lang")
    known, _ = pre.parse_known_args(argv)
    try:
        return i18n.resolve_language(known.lang)
    except CitybridgeError:
        given = known.lang if known.lang is not None else os.environ.get("CITYBRIDGE_LANG", "")
        source = "--lang" if known.lang is not None else "CITYBRIDGE_LANG"
        try:
            lang = i18n.resolve_language(None) if known.lang is not None else i18n.SOURCE_LANGUAGE
        except CitybridgeError:
            lang = i18n.SOURCE_LANGUAGE
        with i18n.use_language(lang):
            raise CitybridgeError(tr("{option} {value}: not a language of the workbook; use one of {codes} "
                                     "({names})", option=source, value=repr(given), codes=", ".join(i18n.LANGUAGES),
                                     names=", ".join(x.name for x in i18n.LANGUAGES.values()))) from None


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; every failure becomes a one-paragraph message and an exit code:
    2 for bad input or a refused operation, 1 for an unexpected failure, 130 when interrupted.
    Messages are in the language of :func:`chosen_language`.

    Called without ``argv`` (as the ``citybridge`` command), the process ends
    when it returns: the objects left are then frozen out of the garbage
    collector, whose passes at interpreter exit would otherwise walk every
    imported module again (about 40 ms with pandas loaded).
    """
    as_command = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        lang = chosen_language(argv)
    except CitybridgeError as exc:
        _say(f"citybridge: {exc}")
        return 2
    try:
        with i18n.use_language(lang):
            return _main(argv)
    finally:
        if as_command:
            import gc

            gc.freeze()


def _main(argv: list[str]) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader stopped reading (``citybridge validate X | head -3``): not an error of the input
        _silence_stdout()
        return 0
    except CitybridgeError as exc:
        _say(f"citybridge {args.command}: {exc}")
        return 2
    except KeyboardInterrupt:
        if args.command == "realtime":
            _say(tr("interrupted; the snapshots saved so far are kept and no partial file is left"))
            return 130
        _say(tr("interrupted; the previous book is left as it was"))
        return 130
    except PermissionError as exc:
        _say(f"citybridge {args.command}: " + tr("{path}: permission denied ({reason}); run the command where you "
                                                 "may write, or ask for write access to that folder",
                                                 path=str(exc.filename or exc), reason=str(exc.strerror)))
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _say(f"citybridge {args.command}: {where}" + tr("{reason} ({kind}); check the path, free disk space and "
                                                        "permissions, then try again",
                                                        reason=str(exc.strerror or exc), kind=type(exc).__name__))
        return 2
    except RecursionError:
        _say(f"citybridge {args.command}: " + tr("an input is nested too deeply to read; check the files named "
                                                 "above (a city.yml or GBFS file holds a few levels only)"))
        return 2
    except Exception as exc:  # noqa: BLE001 - never a traceback for a user
        _say(f"citybridge {args.command}: " + tr("internal error ({kind}: {error}); this is a bug in citybridge: "
                                                 "please report it with the command you ran and the files it read",
                                                 kind=type(exc).__name__, error=str(exc)[:300]))
        return 1




if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
