"""AVL tables: reading an automatic vehicle location table and converting it to GTFS-Realtime.

An AVL table (CSV or Parquet, one row per vehicle fix) is read into
citybridge's standard columns with the column mapping and time zone stated
in ``city.yml`` (:class:`citybridge.city.AvlSpec`), then written as standard
GTFS-Realtime VehiclePositions snapshots, so a digital platform publishes
standard feeds and the chapters read one format (:mod:`citybridge.realtime`).
"""
from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .errors import DataError, where
from .realtime import rt_bindings, snapshot_name, write_atomic
from .texts import tr

#: the standard AVL column names (``columns`` in city.yml maps them to the table's)
AVL_REQUIRED = ("time", "vehicle", "lat", "lon")
AVL_OPTIONAL = ("route", "trip", "direction", "speed_kmh", "status", "fix_age_s", "fix_age_min")


def read_avl(path: str | os.PathLike[str], *, columns: dict[str, str] | None = None,
             timezone: str = "UTC", status_at_stop: list[str] | None = None,
             direction_values: dict[str, int] | None = None) -> pd.DataFrame:
    """Read an AVL table (CSV or Parquet) into the standard columns.

    Parameters
    ----------
    path
        The table (``.csv`` or ``.parquet``).
    columns
        Standard name -> the table's column name (``time``, ``vehicle``,
        ``lat``, ``lon`` required; ``route``, ``trip``, ``direction``,
        ``speed_kmh``, ``status``, ``fix_age_s``, ``fix_age_min`` optional).
        A standard name not mapped is looked up under its own name.
    timezone
        IANA zone of times written without an offset.
    status_at_stop
        ``status`` values meaning the vehicle is stopped at a stop.
    direction_values
        The table's direction codes -> GTFS ``direction_id`` (0/1).

    Returns
    -------
    DataFrame
        ``snapshot_ts`` (the row's time, POSIX s), ``fix_ts`` (``snapshot_ts``
        minus the fix age, POSIX s), ``vehicle_id``, ``lat``, ``lon``
        (degrees), ``speed_kmh`` (km/h, NaN when absent), ``trip_id``,
        ``route_id`` (text), ``direction_id`` (0/1, -1 when absent),
        ``status`` (``STOPPED_AT`` for a status in ``status_at_stop``, else
        ``IN_TRANSIT_TO``; "" without a status column), ``raw_status``.

    Raises
    ------
    DataError
        Unreadable file, a required column missing, a time that cannot be
        read, or a coordinate that is not a number (file, column and row named).
    """
    p = Path(path)
    cmap = {k: (columns or {}).get(k, k) for k in AVL_REQUIRED + AVL_OPTIONAL}
    if not p.is_file():
        raise DataError(f"{p}: " + tr("AVL table not found; correct 'realtime.avl.file' in city.yml"))
    try:
        if p.suffix.lower() == ".parquet":
            raw = pd.read_parquet(p)
        else:
            raw = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types
        raise DataError(f"{p}: " + tr("cannot read this AVL table ({kind}: {reason}); give a UTF-8 CSV with a header "
                                      "row, or a Parquet file", kind=type(exc).__name__,
                                      reason=str(exc)[:120])) from None
    missing = [cmap[k] for k in AVL_REQUIRED if cmap[k] not in raw.columns]
    if missing:
        raise DataError(f"{where(p, missing[0])}: " + tr("required column missing (needed: {needed}; present: "
                                                         "{present}); rename it or map it under "
                                                         "'realtime.avl.columns' in city.yml",
                                                         needed=", ".join(cmap[k] for k in AVL_REQUIRED),
                                                         present=", ".join(map(str, raw.columns))))
    n = len(raw)
    tcol = cmap["time"]
    ts = _posix(raw[tcol], timezone, p, tcol)
    out = pd.DataFrame({"snapshot_ts": ts})
    for k in ("lat", "lon"):
        v = pd.to_numeric(raw[cmap[k]], errors="coerce")
        bad = v.isna() | ~np.isfinite(v) | (v.abs() > (90 if k == "lat" else 180))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            value = repr(str(raw[cmap[k]].iloc[i])[:30])
            raise DataError(f"{where(p, cmap[k], i + 1)}: "
                            + (tr("{value} is not a latitude in degrees; correct or remove the row", value=value)
                               if k == "lat" else
                               tr("{value} is not a longitude in degrees; correct or remove the row", value=value)))
        out[k] = v.to_numpy(float)
    out["vehicle_id"] = raw[cmap["vehicle"]].astype(str).str.strip().to_numpy()
    age = np.zeros(n)
    if cmap["fix_age_s"] in raw.columns:
        age = pd.to_numeric(raw[cmap["fix_age_s"]], errors="coerce").fillna(0).to_numpy(float)
    elif cmap["fix_age_min"] in raw.columns:
        age = pd.to_numeric(raw[cmap["fix_age_min"]], errors="coerce").fillna(0).to_numpy(float) * 60
    out["fix_ts"] = out["snapshot_ts"] - np.round(age).astype("int64")
    out["speed_kmh"] = (pd.to_numeric(raw[cmap["speed_kmh"]], errors="coerce").to_numpy(float)
                        if cmap["speed_kmh"] in raw.columns else np.nan)
    for k, col in (("trip", "trip_id"), ("route", "route_id")):
        out[col] = raw[cmap[k]].astype(str).str.strip().to_numpy() if cmap[k] in raw.columns else ""
    if cmap["direction"] in raw.columns:
        d = raw[cmap["direction"]].astype(str).str.strip()
        mapped = d.map({str(k): int(v) for k, v in (direction_values or {}).items()})
        num = pd.to_numeric(d, errors="coerce")
        out["direction_id"] = mapped.fillna(num.where(num.isin([0, 1]))).fillna(-1).astype("int64").to_numpy()
    else:
        out["direction_id"] = -1
    if cmap["status"] in raw.columns:
        s = raw[cmap["status"]].astype(str).str.strip()
        out["raw_status"] = s.to_numpy()
        out["status"] = np.where(s.isin(status_at_stop or []), "STOPPED_AT", "IN_TRANSIT_TO")
    else:
        out["raw_status"] = ""
        out["status"] = ""
    return out[["snapshot_ts", "fix_ts", "vehicle_id", "lat", "lon", "speed_kmh", "trip_id", "route_id",
                "direction_id", "status", "raw_status"]]


def _posix(col: pd.Series, timezone: str, p: Path, name: str) -> np.ndarray:
    """Times (ISO text with or without offset, or datetimes) as POSIX seconds."""
    if pd.api.types.is_datetime64_any_dtype(col):
        t = col
    else:
        txt = col.astype(str).str.strip()
        probe = pd.to_datetime(txt, errors="coerce", utc=True, format="ISO8601")
        if probe.isna().any():
            i = int(np.flatnonzero(probe.isna().to_numpy())[0])
            raise DataError(f"{where(p, name, i + 1)}: " + tr("time {value} cannot be read; write ISO times such as "
                                                              "2026-05-08T12:42:02-04:00",
                                                              value=repr(txt.iloc[i][:40])))
        off = txt.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
        if off.any() and not off.all():
            i = int(np.flatnonzero(~off.to_numpy())[0])
            raise DataError(f"{where(p, name, i + 1)}: " + tr("time {value} has no UTC offset while others have one; "
                                                              "write every time the same way",
                                                              value=repr(txt.iloc[i][:40])))
        t = pd.to_datetime(txt, errors="coerce", utc=bool(off.all()) and len(txt) > 0, format="ISO8601")
        if t.isna().any():
            i = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise DataError(f"{where(p, name, i + 1)}: " + tr("time {value} cannot be read; write ISO times such as "
                                                              "2026-05-08T12:42:02-04:00",
                                                              value=repr(txt.iloc[i][:40])))
    if getattr(t.dt, "tz", None) is None:
        try:
            t = t.dt.tz_localize(ZoneInfo(timezone), ambiguous="NaT", nonexistent="NaT")
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"{where(p, name)}: " + tr("times cannot be placed in time zone {tz} ({reason}); state "
                                                       "'realtime.avl.timezone' in city.yml", tz=repr(timezone),
                                                       reason=str(exc))) from None
        if t.isna().any():
            i = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise DataError(f"{where(p, name, i + 1)}: " + tr("this local time does not exist or is ambiguous in {tz} "
                                                              "(clock change); write it with its UTC offset",
                                                              tz=str(timezone)))
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    return ((t.dt.tz_convert("UTC") - epoch) // pd.Timedelta(seconds=1)).to_numpy("int64")


def read_city_avl(city) -> pd.DataFrame:
    """The AVL table declared by a city's ``realtime.avl`` (see :func:`read_avl`)."""
    spec = city.profile.realtime.avl
    return read_avl(city.folder / spec.file, columns=spec.columns,
                    timezone=spec.timezone or city.profile.timezone,
                    status_at_stop=spec.status_at_stop, direction_values=spec.direction_values)


# --------------------------------------------------------------------------
# AVL -> GTFS-Realtime
# --------------------------------------------------------------------------

def avl_to_snapshots(avl: pd.DataFrame) -> list:
    """One GTFS-Realtime VehiclePositions ``FeedMessage`` per distinct ``snapshot_ts``.

    Each row becomes an entity: ``vehicle.id``, ``position`` (lat, lon,
    speed in m/s), ``timestamp`` (``fix_ts``), ``trip`` (trip_id, route_id,
    direction_id when known) and ``current_status``. Entities are sorted by
    vehicle so a conversion is reproducible byte for byte.
    """
    rt = rt_bindings()
    msgs = []
    for ts, g in avl.sort_values(["snapshot_ts", "vehicle_id"], kind="stable").groupby("snapshot_ts", sort=True):
        m = rt.FeedMessage()
        m.header.gtfs_realtime_version = "2.0"
        m.header.incrementality = rt.FeedHeader.FULL_DATASET
        m.header.timestamp = int(ts)
        status = g["status"].to_numpy() if "status" in g else np.full(len(g), "")
        for i, r in enumerate(g.itertuples(index=False)):
            e = m.entity.add()
            e.id = f"{r.vehicle_id}"
            v = e.vehicle
            v.vehicle.id = str(r.vehicle_id)
            v.position.latitude = float(r.lat)
            v.position.longitude = float(r.lon)
            if pd.notna(r.speed_kmh):
                v.position.speed = float(r.speed_kmh) / 3.6
            v.timestamp = int(r.fix_ts)
            if r.trip_id:
                v.trip.trip_id = str(r.trip_id)
            if r.route_id:
                v.trip.route_id = str(r.route_id)
            if r.direction_id in (0, 1):
                v.trip.direction_id = int(r.direction_id)
            if status[i]:
                v.current_status = rt.VehiclePosition.VehicleStopStatus.Value(str(status[i]))
        msgs.append(m)
    return msgs


def write_snapshots(avl: pd.DataFrame, folder: str | os.PathLike[str]) -> list[Path]:
    """Write :func:`avl_to_snapshots` into ``folder`` (created); returns the files written.

    Each file is written whole under a temporary name and renamed, so no
    partial snapshot is ever left behind.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for m in avl_to_snapshots(avl):
        p = out / snapshot_name(m.header.timestamp)
        write_atomic(p, m.SerializeToString())
        paths.append(p)
    return paths


def convert_avl_file(spec_path: str | os.PathLike[str], out_folder: str | os.PathLike[str]) -> list[Path]:
    """Convert an AVL table described by a YAML spec (the fields of
    :class:`citybridge.city.AvlSpec`, ``file`` relative to the spec) into
    GTFS-Realtime snapshots in ``out_folder``; returns the files written."""
    import yaml

    from .city import AvlSpec

    sp = Path(spec_path)
    try:
        spec = AvlSpec.model_validate(yaml.safe_load(sp.read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001 - yaml and pydantic errors
        raise DataError(f"{sp}: " + tr("not a valid AVL description ({reason})",
                                       reason=str(exc).splitlines()[0])) from None
    avl = read_avl(sp.parent / spec.file, columns=spec.columns, timezone=spec.timezone or "UTC",
                   status_at_stop=spec.status_at_stop, direction_values=spec.direction_values)
    return write_snapshots(avl, out_folder)
