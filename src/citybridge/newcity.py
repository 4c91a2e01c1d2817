"""Scaffold a new city from a trainer's files (``citybridge new-city``).

:func:`new_city` creates ``data/cities/<slug>/`` with copies of the files it
is given (the trainer's own files are only read, never changed) and a
``city.yml`` filled in from what the data says:

* ``name`` and ``timezone`` from ``agency.txt``;
* ``crs``: the UTM zone of the stops (:func:`citybridge.feed.utm_crs`);
* the modes present, the service dates and the optional files present, as
  comments;
* ``boundaries`` / ``population`` / ``gbfs`` sections only when the files are
  given, with the id, name and population columns detected where possible.

Every guessed line carries a ``# CHECK`` comment saying what to verify by
hand. The folder is assembled in a hidden temporary folder next to the final
one and renamed into place only when complete and valid, so a failure (or an
interrupted run) never leaves a half-created city.

Example
-------
>>> from citybridge.newcity import new_city
>>> new_city("cairns", Path("cairns_gtfs.zip"), root=Path("data/cities"))   # doctest: +SKIP
PosixPath('data/cities/cairns')
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from .city import SLUG_RE, load_city, read_profile
from .city_profile import valid_timezone
from .errors import CitybridgeError, DataError, FeedError, ProfileError
from .newcity_profile import boundaries_section, clean_text, population_section, profile_text
from .i18n import N_
from .texts import tr

#: Boundary formats accepted, by suffix (a shapefile comes with its side files or zipped).
BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".shp", ".zip", ".kml", ".gml")
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


# --------------------------------------------------------------------------
# Writing YAML by hand, safely
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# What the feed says
# --------------------------------------------------------------------------

def _feed_facts(gtfs: Path) -> dict:
    """Read the feed safely and collect what the profile needs."""
    from .feed import feed_date_range, mode_of, read_feed, utm_crs

    feed = read_feed(gtfs)
    facts: dict = {"notes": list(getattr(feed, "notes", []))}
    ag = feed.agency if getattr(feed, "agency", None) is not None else pd.DataFrame()
    names = [clean_text(n) for n in ag.get("agency_name", pd.Series(dtype=str)).dropna().astype(str) if clean_text(n)]
    facts["agencies"] = names
    tzs = [t.strip() for t in ag.get("agency_timezone", pd.Series(dtype=str)).dropna().astype(str) if t.strip()]
    facts["timezones"] = sorted(set(tzs))
    tz = tzs[0] if tzs else ""
    facts["timezone_ok"] = valid_timezone(tz)
    facts["timezone"] = tz if facts["timezone_ok"] else "UTC"
    facts["timezone_given"] = tz
    stops = feed.stops
    lt = pd.to_numeric(stops.get("location_type", pd.Series(0, index=stops.index)), errors="coerce").fillna(0)
    located = stops[lt.isin([0, 1]) & stops["stop_lat"].notna() & stops["stop_lon"].notna()]
    if located.empty:
        raise FeedError(f"{gtfs}/stops.txt: " + tr("no stop has coordinates; the feed cannot be placed on a map"))
    lat, lon = float(located["stop_lat"].median()), float(located["stop_lon"].median())
    facts["lat"], facts["lon"] = lat, lon
    facts["crs"] = utm_crs(lat, lon)
    facts["n_stops"] = int((lt == 0).sum())
    facts["n_stations"] = int((lt == 1).sum())
    modes = mode_of(feed.routes["route_type"]).value_counts()
    facts["modes"] = [(m, int(n)) for m, n in modes.items()]
    try:
        lo, hi = feed_date_range(feed)
        facts["dates"] = (lo.strftime("%Y%m%d"), hi.strftime("%Y%m%d"))
    except CitybridgeError:
        facts["dates"] = None
    facts["has_shapes"] = getattr(feed, "shapes", None) is not None and not feed.shapes.empty
    facts["has_frequencies"] = getattr(feed, "frequencies", None) is not None and not feed.frequencies.empty
    facts["has_direction"] = "direction_id" in feed.trips.columns
    fi = getattr(feed, "feed_info", None)
    facts["publisher"] = ""
    if fi is not None and not fi.empty and "feed_publisher_name" in fi:
        facts["publisher"] = clean_text(fi["feed_publisher_name"].iloc[0])
    # mainland China, Hong Kong excluded roughly: feeds from map providers are often GCJ-02
    facts["in_china"] = 18 <= lat <= 54 and 73 <= lon <= 135
    return facts


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _copy_gtfs(src: Path, dest: Path) -> None:
    """Copy a GTFS zip, or zip a GTFS folder's regular .txt files, to ``dest``."""
    if src.is_dir():
        files = sorted(p for p in src.glob("*.txt") if p.is_file() and not p.is_symlink())
        with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, p.name)
    else:
        shutil.copyfile(src, dest)


# --------------------------------------------------------------------------
# Optional inputs
# --------------------------------------------------------------------------

def _copy_boundaries(src: Path, tmp: Path) -> str:
    suffix = src.suffix.lower()
    if src.is_dir() or suffix not in BOUNDARY_SUFFIXES:
        raise DataError(f"{src}: " + tr("boundaries must be one file: GeoJSON (.geojson), GeoPackage (.gpkg), a "
                                        "shapefile (.shp with its .dbf/.shx/.prj next to it) or a zipped shapefile "
                                        "(.zip)"))
    if suffix == ".zip":
        from .feed import MAX_COMPRESSION_RATIO, check_members

        try:
            with zipfile.ZipFile(src) as zf:
                check_members(zf, src, max_bytes=1024**3, max_ratio=MAX_COMPRESSION_RATIO)
        except zipfile.BadZipFile:
            raise DataError(f"{src}: " + tr("not a valid zip archive; zip the shapefile's files again")) from None
        except FeedError as exc:
            raise DataError(str(exc)) from None
    if suffix == ".shp":
        for side in _SHP_SIDECARS:
            p = src.with_suffix(side)
            if not p.exists():
                p = src.with_suffix(side.upper())
            if p.is_file():
                shutil.copyfile(p, tmp / f"boundaries{side}")
        if not (tmp / "boundaries.dbf").exists() or not (tmp / "boundaries.shx").exists():
            raise DataError(f"{src}: " + tr("a shapefile needs its .shx and .dbf files next to it (same name); copy "
                                            "them there or give a GeoJSON / GeoPackage instead"))
        return "boundaries.shp"
    name = f"boundaries{'.geojson' if suffix == '.json' else suffix}"
    shutil.copyfile(src, tmp / name)
    return name


def _read_boundaries(path: Path):
    """The copied boundaries, read with the CRS policy of :mod:`citybridge.inputs`."""
    from .inputs import read_geo

    try:
        b = read_geo(path, what="boundaries",
                     hint=N_("give a GeoJSON or GeoPackage of polygons, or leave out --boundaries"))
    except DataError as exc:  # name the file as the trainer gave it, not the temporary copy
        raise DataError(clean_text(str(exc).replace(str(path), path.name), 1000)) from None
    if b.empty:
        raise DataError(f"{path.name}: " + tr("the boundaries file holds no polygons"))
    geom_types = set(b.geometry.geom_type.dropna())
    if not geom_types <= {"Polygon", "MultiPolygon"}:
        raise DataError(f"{path.name}: " + tr("the boundaries must be polygons (found {kinds})",
                                              kinds=", ".join(sorted(geom_types))))
    return b


# --------------------------------------------------------------------------
# The profile
# --------------------------------------------------------------------------


def _copy_gbfs(src: Path, tmp: Path) -> int:
    from .inputs import read_gbfs

    dest = tmp / "gbfs"
    dest.mkdir()
    if src.is_dir():
        files = [p for p in sorted(src.glob("*.json")) if p.is_file() and not p.is_symlink()]
    elif src.name == "gbfs.json":
        files = [p for p in sorted(src.parent.glob("*.json")) if p.is_file() and not p.is_symlink()]
    elif src.suffix.lower() == ".json":
        files = [src]
    else:
        raise DataError(f"{src}: " + tr("give the GBFS folder (with station_information.json) or one of its .json "
                                        "files"))
    total = sum(p.stat().st_size for p in files)
    if total > 200 * 1024**2:
        raise DataError(f"{src}: " + tr("the GBFS files add up to {size:,} bytes; that is not a bike-share feed",
                                        size=total))
    for p in files:
        shutil.copyfile(p, dest / p.name)
    try:
        stations = read_gbfs(dest)
    except DataError as exc:
        raise DataError(f"{src}: " + tr("the bike-share feed cannot be used: {problem}. Fix it, or leave out --gbfs",
                                        problem=str(exc))) from None
    return len(stations)


# --------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------

def new_city(slug: str, gtfs: Path, *, boundaries: Path | None = None, population: Path | None = None,
             gbfs: Path | None = None, root: Path) -> Path:
    """Create ``root/slug/`` from a GTFS feed and optional files.

    Parameters
    ----------
    slug
        Folder name: lower-case letters, digits, ``-`` or ``_``, starting with
        a letter (:data:`citybridge.city.SLUG_RE`).
    gtfs
        The feed: a ``.zip`` (copied as ``gtfs.zip``) or a folder of ``.txt``
        files (zipped into ``gtfs.zip``).
    boundaries, population, gbfs
        Optional: district polygons, a population table (CSV) and a GBFS
        bike-share folder or file. Each is copied in and described in
        ``city.yml``.
    root
        The cities folder, normally ``data/cities``.

    Returns
    -------
    Path
        The new city folder.

    Raises
    ------
    ProfileError
        Bad slug, or the city already exists.
    FeedError, DataError
        An input cannot be read (the message names the file and what to do).
        Nothing is created in that case.
    """
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise ProfileError(tr("'{slug}' cannot be a city name: use 1 to 40 lower-case letters, digits, '-' or "
                              "'_', starting with a letter (for example 'valparaiso' or 'cairns-2014')",
                              slug=clean_text(slug, 60)))
    root = Path(root)
    dest = root / slug
    if dest.exists() or dest.is_symlink():
        raise ProfileError(f"{dest}: " + tr("a city named '{slug}' already exists; nothing was changed. Choose "
                                            "another name, or move that folder away first if you mean to replace "
                                            "it", slug=slug))
    inputs = {"--gtfs": Path(gtfs), "--boundaries": boundaries, "--population": population, "--gbfs": gbfs}
    for opt, p in inputs.items():
        if p is not None and not Path(p).exists():
            raise CitybridgeError(f"{p}: " + tr("file not found (given as {option}); check the path", option=opt))
    gtfs = Path(gtfs)
    if not gtfs.is_dir() and gtfs.suffix.lower() != ".zip":
        raise FeedError(f"{gtfs}: " + tr("give the GTFS feed as a .zip file or as a folder of .txt files"))
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{slug}.new-", dir=root))
    except OSError as exc:
        raise CitybridgeError(f"{root}: " + tr("cannot create the city folder there ({reason}); make the folder "
                                               "writable (or run the command as its owner), or free disk space",
                                               reason=str(exc.strerror or exc))) from None
    try:
        facts = _feed_facts(gtfs)
        _copy_gtfs(gtfs, tmp / "gtfs.zip")
        sections: list[str] = []
        missing: list[str] = []
        b = None
        b_id = None
        pop_df = None
        if population is not None:
            from .inputs import read_table

            population = Path(population)
            if population.is_dir() or population.suffix.lower() not in (".csv", ".tsv", ".txt"):
                raise DataError(f"{population}: " + tr("give the population table as a CSV file (one row per "
                                                       "district)"))
            pop_name = "population" + population.suffix.lower()
            shutil.copyfile(population, tmp / pop_name)
            pop_df = read_table(tmp / pop_name)
            if pop_df.empty or len(pop_df.columns) < 2:
                raise DataError(f"{population}: " + tr("the table has no rows or a single column; give a CSV with "
                                                       "a district id and a population per row (comma-separated)"))
        if boundaries is not None:
            bname = _copy_boundaries(Path(boundaries), tmp)
            b = _read_boundaries(tmp / bname)
            sec, b_id = boundaries_section(bname, b, pop_df)
            sections += sec
        else:
            missing.append("boundaries: {file: ..., id_column: ..., name_column: ...} -> districts on the maps, "
                           "access by district (chapters 01 and 03)")
        if pop_df is not None:
            sections += population_section(pop_name, pop_df, b, b_id)
        else:
            missing.append("population: {file: ..., id_column: ..., population_column: ...} -> SDG 11.2.1 "
                           "population coverage, urban/rural (chapter 03)")
        if gbfs is not None:
            n = _copy_gbfs(Path(gbfs), tmp)
            sections.append(f"gbfs: gbfs  # bike share (GBFS): {n:,} stations in station_information.json")
        else:
            missing.append("gbfs: <folder with station_information.json> -> bike share near transit (chapter 06)")
        sha = _sha256(tmp / "gtfs.zip")
        text = profile_text(slug, gtfs, facts, sha, sections, missing)
        (tmp / "city.yml").write_text(text, encoding="utf-8")
        prof = read_profile(tmp / "city.yml")  # must validate exactly as a build reads it
        if facts["agencies"] and prof.name != clean_text(facts["agencies"][0]):
            raise CitybridgeError("internal error: the agency name did not survive writing city.yml")
        load_city(tmp, check_files=True)
        if dest.exists():
            raise ProfileError(f"{dest}: " + tr("appeared while the city was being created; nothing was changed"))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)
        os.rename(tmp, dest)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, (CitybridgeError, KeyboardInterrupt, SystemExit)):
            raise
        raise CitybridgeError(tr("could not create the city '{slug}' ({kind}: {reason}); nothing was created",
                                 slug=slug, kind=type(exc).__name__, reason=clean_text(exc, 300))) from None
    return dest


__all__ = ["new_city"]
