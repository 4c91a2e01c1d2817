"""Checks of a city folder's profile and optional inputs for ``citybridge validate``.

The profile (``crs``, ``gtfs``, timezone), the boundaries (read with the CRS
policy of :mod:`citybridge.inputs`), population, bike share and realtime
inputs; each check returns :class:`~citybridge.findings.Finding` objects.
"""
from __future__ import annotations

import math

from .errors import CitybridgeError
from .findings import Finding, finding, findings_from_error, first_row
from .i18n import N_
from .texts import T


#: What each optional input unlocks (used in the findings and in chapter 00).
UNLOCKS = {
    "boundaries": N_("district polygons on the maps (chapter 01) and access by district (chapter 03)"),
    "population": N_("SDG 11.2.1 population coverage, urban and rural (chapter 03)"),
    "gbfs": N_("bike share near transit stops (chapter 06)"),
}


def check_optional(city) -> list[Finding]:
    """The optional inputs named in city.yml: present, readable, and what each unlocks.

    Boundaries are read with the CRS policy of :mod:`citybridge.inputs` (unreadable or
    breaking it: fatal); districts that cannot be joined to the population are a warning
    (chapter 03 shows the reason); a broken GBFS feed is fatal.
    """
    out: list[Finding] = []
    yml = city.folder / "city.yml"
    present = {}
    for kind in ("boundaries", "population", "gbfs"):
        p = city.optional_path(kind)
        if p is None:
            out.append(finding("info", yml, T("no '{kind}' given: add it to unlock {unlocks} "
                                              "(see the Trainers' guide)", kind=kind, unlocks=T(UNLOCKS[kind]))))
        elif not p.exists():
            out.append(finding("fatal", p, T("named by '{kind}' in city.yml but missing, so the build refuses this "
                                             "city: add the file, or remove '{kind}' from city.yml (the chapters then "
                                             "skip {unlocks})", kind=kind, unlocks=T(UNLOCKS[kind])), kind))
        else:
            present[kind] = p
    if "boundaries" in present:
        from .inputs import read_geo

        try:
            b = read_geo(present["boundaries"], what="boundaries",
                         hint=N_("give a GeoJSON or GeoPackage of polygons"))
        except CitybridgeError as exc:
            return out + [Finding("fatal", x.file, x.column, x.row, T("{problem} (chapters 01 and 03 would fail: fix "
                                                                      "the file, or remove 'boundaries' from city.yml)",
                                                                      problem=x.text))
                          for x in findings_from_error("fatal", exc, present["boundaries"])]
        out += check_boundary_geometry(city, b)
        spec = city.profile.boundaries
        for key, col in (("id_column", spec.id_column), ("name_column", spec.name_column)):
            if col not in b.columns:
                out.append(finding("fatal", present["boundaries"], T(
                    "column '{column}' (boundaries.{key} in city.yml) is not in the file; columns present: "
                    "{present}. Correct boundaries.{key}", column=col, key=key,
                    present=", ".join(c for c in b.columns if c != "geometry")), col))
    if "boundaries" in present and "population" in present and not any(x.severity == "fatal" for x in out):
        from .access import districts

        try:
            d = districts(city)
            out.append(finding("info", present["population"], T("{n:,} districts with {people:,.0f} people joined "
                                                                 "to the boundaries", n=len(d),
                                                                 people=float(d["population"].sum()))))
        except CitybridgeError as exc:
            out += [Finding("warning", x.file, x.column, x.row, T("{problem} (chapter 03 shows this instead of "
                                                                  "access results)", problem=x.text))
                    for x in findings_from_error("warning", exc, present["population"])]
    elif "population" in present and "boundaries" not in present and city.profile.boundaries is None:
        out.append(finding("warning", present["population"], T("a population table without boundaries cannot be "
                                                               "used: population is joined to district polygons. "
                                                               "Add 'boundaries' to city.yml")))
    if "gbfs" in present:
        from .inputs import read_gbfs

        try:
            bikes = read_gbfs(present["gbfs"])
            out.append(finding("info", present["gbfs"], T("bike share: {n:,} stations", n=len(bikes))))
        except CitybridgeError as exc:
            out += [Finding("fatal", x.file, x.column, x.row, T("{problem} (chapter 06 would fail: fix the file "
                                                                "or remove 'gbfs' from city.yml)", problem=x.text))
                    for x in findings_from_error("fatal", exc, present["gbfs"])]
    return out


def check_crs(city) -> list[Finding]:
    """The profile's ``crs`` must be a known projected CRS measured in metres:
    with a geographic CRS (EPSG:4326) every distance would come out in
    degrees, and an unknown code makes every chapter fail."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    yml = city.folder / "city.yml"
    code = city.profile.crs
    hint = T("write the metric UTM zone of the city (e.g. EPSG:32719 for Santiago, EPSG:32650 for Hangzhou)")
    try:
        crs = CRS.from_user_input(code)
    except CRSError:
        return [finding("fatal", yml, T("crs '{code}' is not a known coordinate reference system, so no distance "
                                        "can be measured and every chapter would fail; {hint}", code=code, hint=hint),
                        "crs")]
    unit = (crs.axis_info[0].unit_name if crs.axis_info else "") or ""
    if crs.is_geographic or not crs.is_projected:
        return [finding("fatal", yml, T("crs '{code}' ({name}) is geographic: distances would come out in degrees "
                                        "(service-km and speeds near 0); {hint}", code=code, name=crs.name, hint=hint),
                        "crs")]
    if unit and unit.lower() not in ("metre", "meter", "m"):
        return [finding("fatal", yml, T("crs '{code}' ({name}) measures in {unit}, not metres; {hint}", code=code,
                                        name=crs.name, unit=unit, hint=hint), "crs")]
    return []


def check_gtfs_path(city) -> list[Finding]:
    """The profile's ``gtfs`` must name a file (the build reads a zip), not a folder."""
    p = city.gtfs_path
    if p.is_dir():
        return [finding("fatal", city.folder / "city.yml", T("'gtfs' names the folder {folder}/, but a city's feed "
                                                             "must be a zip file: zip the folder's .txt files (at the "
                                                             "top level of the archive) into gtfs.zip and set "
                                                             "'gtfs: gtfs.zip'", folder=str(city.profile.gtfs)),
                        "gtfs")]
    return []


def check_boundary_geometry(city, b=None) -> list[Finding]:
    """Boundaries must be polygons: a feature with no geometry or of another
    type (Point, LineString) is fatal (population and access by district
    would silently come out 0 %); a self-intersecting polygon is a warning
    (areas and coverage change)."""
    path = city.optional_path("boundaries")
    if path is None or not path.exists():
        return []
    from .inputs import geometry_problems, read_geo

    if b is None:
        try:
            b = read_geo(path, what="boundaries")
        except CitybridgeError:  # reported by check_optional
            return []
    out: list[Finding] = []
    geom = b.geometry
    problems = geometry_problems(geom)
    empty, other, bad = problems["empty"], problems["other"], problems["invalid"]
    if empty.any():
        i = first_row(empty)
        out.append(finding("fatal", path, T("{n:,} feature(s) have no geometry (first row {row}); each district "
                                            "needs its polygon: add it or delete the feature", n=int(empty.sum()),
                                            row=i), "geometry", i))
    kinds = geom.geom_type.fillna("")
    if other.any():
        i = first_row(other)
        out.append(finding("fatal", path, T("{n:,} feature(s) are not polygons (first row {row}: {kind}); boundaries "
                                            "must be district polygons (a point or line has no area, so its "
                                            "population would count as not served)", n=int(other.sum()), row=i,
                                            kind=str(kinds.iloc[i - 1])), "geometry", i))
    if bad.any():
        i = first_row(bad)
        from shapely.validation import explain_validity

        why = explain_validity(geom.iloc[i - 1])
        out.append(finding("warning", path, T("{n:,} polygon(s) are not valid (first row {row}: {why}); areas, "
                                              "densities and coverage may be wrong (the chapters repair them with "
                                              "make_valid). Repair them in the file (QGIS: Fix geometries; shapely: "
                                              "make_valid)", n=int(bad.sum()), row=i, why=why), "geometry", i))
    return out


def blocking_problems(city) -> list[Finding]:
    """The fatal problems of a city's inputs that would make its chapters fail
    or show nonsense (CRS, feed named as a folder, boundaries that are not
    polygons). Cheap (no feed is read): :func:`citybridge.pipeline.plan`
    builds only chapter 00 of a city that has any, so they are shown there."""
    out = check_crs(city) + check_gtfs_path(city)
    out += [f for f in check_boundary_geometry(city) if f.severity == "fatal"]
    return out


def check_profile(city) -> list[Finding]:
    """The profile itself: ``crs``, ``gtfs`` and the timezone."""
    out: list[Finding] = []
    yml = city.folder / "city.yml"
    from .city_profile import valid_timezone

    out += check_crs(city) + check_gtfs_path(city)

    if not valid_timezone(city.profile.timezone):
        out.append(finding("warning", yml, T("timezone '{tz}' is not a known time zone; write an IANA name such as "
                                             "America/Santiago", tz=city.profile.timezone), "timezone"))
    needed = ("grid_kgco2_per_kwh", "diesel_kgco2_per_litre", "diesel_bus_litres_per_100km", "ebus_kwh_per_km")
    absent = [name for name in needed if getattr(city.profile.parameters, name) is None]
    if absent:
        out.append(finding("warning", yml, T("no emission parameter(s) {names}: chapter 05 (low carbon) cannot "
                                             "compute bus CO2 without all four; add them under 'parameters' with "
                                             "value, unit, year and source (city.yml written by new-city has a "
                                             "commented template)", names=", ".join(absent)), "parameters"))
    for name, par in city.profile.parameters:
        if par is not None and not par.solid:
            out.append(finding("warning", yml, T("parameter '{name}' has no solid source ({source}); results "
                                                 "using it are flagged", name=name, source=par.note or par.source),
                               name))
    if city.profile.fleet_classes is None:
        out.append(finding("info", yml, T("no 'fleet_classes' given: add the shares of bus-km by fuel and Euro "
                                          "class (each with year and source, or assumed: true) to unlock bus NOx "
                                          "and PM2.5 in chapter 05"), "fleet_classes"))
    if city.profile.download:
        out.append(finding("info", yml, T("a download is declared: 'citybridge fetch' refreshes gtfs.zip and "
                                          "checks its sha256"), "download"))
    return out


def check_gbfs_swapped(city, feed) -> list[Finding]:
    """Bike stations whose latitude and longitude are exchanged, judged against the feed's stops."""
    path = city.optional_path("gbfs")
    if path is None or not path.exists():
        return []
    from .inputs import read_gbfs
    from .multimodal import swapped_against

    try:
        bikes = read_gbfs(path)
    except Exception:  # noqa: BLE001 - reported by check_optional
        return []
    if swapped_against(bikes, feed.stops):
        return [finding("fatal", path, T("the bike stations (median lat {lat:.4f}, lon {lon:.4f}) lie far from the "
                                         "transit stops but would sit among them with latitude and longitude "
                                         "swapped; exchange 'lat' and 'lon' in station_information.json",
                                         lat=float(bikes["lat"].median()), lon=float(bikes["lon"].median())),
                        "lat")]
    return []


def check_outside_boundaries(city, feed) -> list[Finding]:
    """Stops outside the boundaries' extent (padded by 0.05°): a warning naming the first one."""
    path = city.optional_path("boundaries")
    if path is None or not path.exists():
        return []
    from .inputs import WGS84, read_geo

    try:
        b = read_geo(path, what="boundaries").to_crs(WGS84)
    except CitybridgeError:  # reported by check_optional
        return []
    minx, miny, maxx, maxy = b.total_bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return []
    pad = 0.05
    s = feed.stops
    out_mask = (s["stop_lon"] < minx - pad) | (s["stop_lon"] > maxx + pad) | \
               (s["stop_lat"] < miny - pad) | (s["stop_lat"] > maxy + pad)
    out_mask &= s["stop_lat"].notna()
    if out_mask.any():
        i = first_row(out_mask)
        return [finding("warning", f"{city.gtfs_path}/stops.txt", T(
            "{n} stop(s) lie outside the boundaries' extent (first '{stop}'); check the coordinates and the "
            "declared source_datum", n=int(out_mask.sum()), stop=str(s["stop_id"].iloc[i - 1])), "stop_lat", i)]
    return []


def check_realtime_inputs(city, feed) -> list[Finding]:
    """Realtime inputs (city.yml 'realtime'): see :func:`citybridge.realtime.check_realtime`."""
    from .realtime import check_realtime

    s = feed.stops
    ok = s["stop_lat"].notna() & s["stop_lon"].notna()
    bbox = None
    if ok.any():
        pad = 0.1
        bbox = (float(s.loc[ok, "stop_lon"].min()) - pad, float(s.loc[ok, "stop_lat"].min()) - pad,
                float(s.loc[ok, "stop_lon"].max()) + pad, float(s.loc[ok, "stop_lat"].max()) + pad)
    return [finding(sev, file, T("{problem} (chapter 08 shows this instead of its results)", problem=msg)
                    if sev == "warning" else msg, col, row) for sev, file, col, row, msg in check_realtime(city, bbox=bbox)]
