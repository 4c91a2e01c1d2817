"""Realtime inputs: GTFS-Realtime snapshots, AVL tables, and recording.

A city declares ``realtime:`` in ``city.yml`` (see
:class:`citybridge.city.RealtimeSpec`). The standard path is a folder of
GTFS-Realtime protobuf snapshots (``*.pb``, read with the
``gtfs-realtime-bindings`` package); an automatic vehicle location (AVL)
table (CSV or Parquet) is converted into such snapshots by
:func:`avl_to_snapshots` / :func:`write_snapshots`, so a digital platform
publishes standard feeds and the chapters read one format.

Times are kept as POSIX seconds (UTC); :func:`local_seconds` turns them into
seconds after local midnight for comparison with the timetable.
"""
from __future__ import annotations

import datetime as dt
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .errors import CitybridgeError, DataError, where

#: the standard AVL column names (``columns`` in city.yml maps them to the table's)
AVL_REQUIRED = ("time", "vehicle", "lat", "lon")
AVL_OPTIONAL = ("route", "trip", "direction", "speed_kmh", "status", "fix_age_s", "fix_age_min")
#: a GTFS-Realtime file larger than this is refused (bytes)
MAX_PB_BYTES = 64 * 1024 * 1024

POSITION_COLUMNS = ["snapshot_ts", "fix_ts", "vehicle_id", "lat", "lon", "speed_kmh", "bearing",
                    "trip_id", "route_id", "direction_id", "status", "stop_id", "current_stop_sequence",
                    "file", "entity"]


def _rt():
    try:
        from google.transit import gtfs_realtime_pb2
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise CitybridgeError("the 'gtfs-realtime-bindings' package is missing: pip install "
                              "gtfs-realtime-bindings") from exc
    return gtfs_realtime_pb2


# --------------------------------------------------------------------------
# Reading GTFS-Realtime
# --------------------------------------------------------------------------

def snapshot_files(path: str | os.PathLike[str]) -> list[Path]:
    """The ``*.pb`` files of a folder (sorted by name), or the file itself."""
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        return sorted(x for x in p.iterdir() if x.is_file() and x.suffix.lower() == ".pb"
                      and not x.name.startswith("."))
    raise DataError(f"{p}: no such file or folder of GTFS-Realtime snapshots; record some with "
                    "'citybridge realtime record' or correct 'realtime' in city.yml")


def parse_snapshot(path: Path):
    """Parse one GTFS-Realtime ``FeedMessage`` file.

    Raises
    ------
    DataError
        The file is too large, empty or not a GTFS-Realtime protobuf.
    """
    rt = _rt()
    size = path.stat().st_size
    if size > MAX_PB_BYTES:
        raise DataError(f"{path}: {size:,} bytes, more than the {MAX_PB_BYTES:,} accepted for one snapshot; "
                        "is it really a GTFS-Realtime file?")
    data = path.read_bytes()
    msg = rt.FeedMessage()
    try:
        msg.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
        raise DataError(f"{path}: cannot decode this GTFS-Realtime protobuf ({type(exc).__name__}); the file "
                        "is damaged or not a GTFS-Realtime feed: record it again or remove it") from None
    if not data or not msg.header.gtfs_realtime_version:
        raise DataError(f"{path}, field header.gtfs_realtime_version: missing, so this is not a GTFS-Realtime "
                        "FeedMessage; record it again or remove it")
    return msg


def read_vehicle_positions(path: str | os.PathLike[str] | list[Path]) -> pd.DataFrame:
    """Every VehiclePosition entity of one snapshot file, a folder of them, or a list.

    Returns
    -------
    DataFrame
        One row per vehicle and snapshot:

        - ``snapshot_ts``: the snapshot's header timestamp (POSIX s, UTC)
        - ``fix_ts``: the position's own timestamp (POSIX s; the header's when absent)
        - ``vehicle_id`` (the entity id when the vehicle has none)
        - ``lat``, ``lon``: WGS-84 degrees
        - ``speed_kmh``: instantaneous speed (km/h; NaN when absent)
        - ``bearing``: degrees (NaN when absent)
        - ``trip_id``, ``route_id`` (text, "" when absent), ``direction_id``
          (0/1, -1 when absent)
        - ``status``: ``STOPPED_AT``, ``IN_TRANSIT_TO``, ``INCOMING_AT`` or "" (absent)
        - ``stop_id`` (text), ``current_stop_sequence`` (-1 when absent)
        - ``file``: the snapshot's file name; ``entity``: 1-based entity number
    """
    rt = _rt()
    files = path if isinstance(path, list) else snapshot_files(path)
    names = {v.number: v.name for v in rt.VehiclePosition.VehicleStopStatus.DESCRIPTOR.values}
    rows: list[tuple] = []
    for f in files:
        msg = parse_snapshot(Path(f))
        head = int(msg.header.timestamp)
        for i, e in enumerate(msg.entity, start=1):
            if not e.HasField("vehicle"):
                continue
            v = e.vehicle
            pos = v.position if v.HasField("position") else None
            ts = int(v.timestamp) if v.HasField("timestamp") else head
            rows.append((
                head, ts, v.vehicle.id or e.id,
                pos.latitude if pos is not None else np.nan, pos.longitude if pos is not None else np.nan,
                pos.speed * 3.6 if pos is not None and pos.HasField("speed") else np.nan,
                pos.bearing if pos is not None and pos.HasField("bearing") else np.nan,
                v.trip.trip_id, v.trip.route_id,
                int(v.trip.direction_id) if v.trip.HasField("direction_id") else -1,
                names[v.current_status] if v.HasField("current_status") else "",
                v.stop_id, int(v.current_stop_sequence) if v.HasField("current_stop_sequence") else -1,
                Path(f).name, i))
    df = pd.DataFrame(rows, columns=POSITION_COLUMNS)
    return df.astype({"snapshot_ts": "int64", "fix_ts": "int64", "direction_id": "int64",
                      "current_stop_sequence": "int64", "lat": float, "lon": float, "speed_kmh": float,
                      "bearing": float})


def read_trip_updates(path: str | os.PathLike[str] | list[Path]) -> pd.DataFrame:
    """Every stop-time update of the TripUpdate entities of snapshot file(s).

    Returns
    -------
    DataFrame
        - ``snapshot_ts`` (POSIX s), ``trip_id``, ``route_id``, ``vehicle_id``,
          ``start_date`` (YYYYMMDD or "")
        - ``stop_id`` (text), ``stop_sequence`` (-1 when absent)
        - ``arrival_time``, ``departure_time``: predicted or actual times (POSIX s, NaN when absent)
        - ``arrival_delay_s``, ``departure_delay_s``: delays (s, NaN when absent)
        - ``file``, ``entity``
    """
    files = path if isinstance(path, list) else snapshot_files(path)
    rows: list[tuple] = []
    for f in files:
        msg = parse_snapshot(Path(f))
        head = int(msg.header.timestamp)
        for i, e in enumerate(msg.entity, start=1):
            if not e.HasField("trip_update"):
                continue
            tu = e.trip_update
            for u in tu.stop_time_update:
                a = u.arrival if u.HasField("arrival") else None
                d = u.departure if u.HasField("departure") else None
                rows.append((head, tu.trip.trip_id, tu.trip.route_id, tu.vehicle.id, tu.trip.start_date,
                             u.stop_id, int(u.stop_sequence) if u.HasField("stop_sequence") else -1,
                             a.time if a is not None and a.HasField("time") else np.nan,
                             d.time if d is not None and d.HasField("time") else np.nan,
                             a.delay if a is not None and a.HasField("delay") else np.nan,
                             d.delay if d is not None and d.HasField("delay") else np.nan,
                             Path(f).name, i))
    cols = ["snapshot_ts", "trip_id", "route_id", "vehicle_id", "start_date", "stop_id", "stop_sequence",
            "arrival_time", "departure_time", "arrival_delay_s", "departure_delay_s", "file", "entity"]
    return pd.DataFrame(rows, columns=cols).astype({"arrival_time": float, "departure_time": float,
                                                     "arrival_delay_s": float, "departure_delay_s": float})


def local_seconds(ts: pd.Series | np.ndarray, *, timezone: str, date: str) -> np.ndarray:
    """POSIX timestamps as seconds after local midnight of ``date`` (YYYYMMDD) in ``timezone``."""
    tz = ZoneInfo(timezone)
    d = dt.datetime.strptime(date, "%Y%m%d").replace(tzinfo=tz)
    return np.asarray(ts, dtype=float) - d.timestamp()


def local_date(ts: float, timezone: str) -> str:
    """The local calendar date (YYYYMMDD) of a POSIX timestamp."""
    return dt.datetime.fromtimestamp(float(ts), ZoneInfo(timezone)).strftime("%Y%m%d")


# --------------------------------------------------------------------------
# AVL tables
# --------------------------------------------------------------------------

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
        raise DataError(f"{p}: AVL table not found; correct 'realtime.avl.file' in city.yml")
    try:
        if p.suffix.lower() == ".parquet":
            raw = pd.read_parquet(p)
        else:
            raw = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types
        raise DataError(f"{p}: cannot read this AVL table ({type(exc).__name__}: {str(exc)[:120]}); give a "
                        "UTF-8 CSV with a header row, or a Parquet file") from None
    missing = [cmap[k] for k in AVL_REQUIRED if cmap[k] not in raw.columns]
    if missing:
        raise DataError(f"{where(p, missing[0])}: required column missing (needed: "
                        f"{', '.join(cmap[k] for k in AVL_REQUIRED)}; present: {', '.join(map(str, raw.columns))}); "
                        "rename it or map it under 'realtime.avl.columns' in city.yml")
    n = len(raw)
    tcol = cmap["time"]
    ts = _posix(raw[tcol], timezone, p, tcol)
    out = pd.DataFrame({"snapshot_ts": ts})
    for k in ("lat", "lon"):
        v = pd.to_numeric(raw[cmap[k]], errors="coerce")
        bad = v.isna() | ~np.isfinite(v) | (v.abs() > (90 if k == "lat" else 180))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{where(p, cmap[k], i + 1)}: {str(raw[cmap[k]].iloc[i])[:30]!r} is not a "
                            f"{'latitude' if k == 'lat' else 'longitude'} in degrees; correct or remove the row")
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
            raise DataError(f"{where(p, name, i + 1)}: time {txt.iloc[i][:40]!r} cannot be read; write ISO "
                            "times such as 2026-05-08T12:42:02-04:00")
        off = txt.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
        if off.any() and not off.all():
            i = int(np.flatnonzero(~off.to_numpy())[0])
            raise DataError(f"{where(p, name, i + 1)}: time {txt.iloc[i][:40]!r} has no UTC offset while others "
                            "have one; write every time the same way")
        t = pd.to_datetime(txt, errors="coerce", utc=bool(off.all()) and len(txt) > 0, format="ISO8601")
        if t.isna().any():
            i = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise DataError(f"{where(p, name, i + 1)}: time {txt.iloc[i][:40]!r} cannot be read; write ISO "
                            "times such as 2026-05-08T12:42:02-04:00")
    if getattr(t.dt, "tz", None) is None:
        try:
            t = t.dt.tz_localize(ZoneInfo(timezone), ambiguous="NaT", nonexistent="NaT")
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"{where(p, name)}: times cannot be placed in time zone {timezone!r} ({exc}); state "
                            "'realtime.avl.timezone' in city.yml") from None
        if t.isna().any():
            i = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise DataError(f"{where(p, name, i + 1)}: this local time does not exist or is ambiguous in "
                            f"{timezone} (clock change); write it with its UTC offset")
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
    rt = _rt()
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


def snapshot_name(ts: int, kind: str = "vehicle_positions") -> str:
    """``vehicle_positions_YYYYMMDDTHHMMSSZ.pb`` for a POSIX timestamp (UTC)."""
    return f"{kind}_{dt.datetime.fromtimestamp(int(ts), dt.timezone.utc):%Y%m%dT%H%M%SZ}.pb"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name("." + path.name + ".part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
        _write_atomic(p, m.SerializeToString())
        paths.append(p)
    return paths


# --------------------------------------------------------------------------
# A city's realtime inputs
# --------------------------------------------------------------------------

def has_realtime(city) -> bool:
    """True when the city declares realtime inputs in city.yml."""
    rt = city.profile.realtime
    return rt is not None and (rt.vehicle_positions is not None or rt.avl is not None)


def city_positions(city) -> pd.DataFrame:
    """A city's vehicle positions: its GTFS-Realtime snapshots, else its AVL table.

    Returns the columns of :func:`read_vehicle_positions` (an AVL table gets
    ``bearing`` NaN, ``stop_id`` "", ``current_stop_sequence`` -1 and
    ``file`` the table's name).

    Raises
    ------
    DataError
        The city declares no realtime inputs, or they cannot be read.
    """
    spec = city.profile.realtime
    if not has_realtime(city):
        raise DataError(f"{city.folder / 'city.yml'}: no 'realtime' inputs declared")
    if spec.vehicle_positions is not None:
        files = snapshot_files(city.folder / spec.vehicle_positions)
        if files:
            return read_vehicle_positions(files)
        if spec.avl is None:
            raise DataError(f"{city.folder / spec.vehicle_positions}: no .pb snapshot in this folder; record "
                            "some with 'citybridge realtime record'")
    avl = read_city_avl(city)
    return avl.assign(bearing=np.nan, stop_id="", current_stop_sequence=-1, file=Path(spec.avl.file).name,
                      entity=np.arange(1, len(avl) + 1))[POSITION_COLUMNS]


def city_trip_updates(city) -> pd.DataFrame:
    """A city's TripUpdates (empty table when it has none); see :func:`read_trip_updates`."""
    spec = city.profile.realtime
    folder = None if spec is None else (spec.trip_updates or spec.vehicle_positions)
    if folder is None or not (city.folder / folder).exists():
        return read_trip_updates([])
    return read_trip_updates(snapshot_files(city.folder / folder))


# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------

@dataclass
class RecordResult:
    """What a recording did: ``saved`` files and one ``messages`` line per failure or skip."""

    saved: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    polls: int = 0


def _fetch(url: str, timeout: float, max_bytes: int) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "citybridge-realtime-recorder"})
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - the trainer's own URL
        data = r.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DataError(f"{url}: the answer is larger than {max_bytes:,} bytes; is this a GTFS-Realtime feed?")
    return data


def record(folder: str | os.PathLike[str], url: str, *, every_s: float, minutes: float,
           timeout_s: float = 20.0, max_bytes: int = MAX_PB_BYTES,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> RecordResult:
    """Poll a GTFS-Realtime endpoint and store each answer as a timestamped snapshot.

    The run is bounded: polls at 0, ``every_s``, 2 × ``every_s`` … seconds
    while within ``minutes``. Each answer is decoded before it is kept; a
    network or decoding failure is noted in ``messages`` and the run goes on.
    A snapshot whose header timestamp was already saved is skipped (the feed
    had not changed). Files are written whole and renamed: an interrupted run
    leaves no partial file.

    Raises
    ------
    CitybridgeError
        Bad arguments (URL not http(s), ``every_s`` < 1, ``minutes`` not in
        (0, 1440]).
    """
    rt = _rt()
    if not str(url).lower().startswith(("http://", "https://")):
        raise CitybridgeError(f"--url {url!r}: give the feed's web address, starting with http:// or https://")
    if not every_s >= 1:
        raise CitybridgeError("--every must be at least 1 second")
    if not 0 < minutes <= 1440:
        raise CitybridgeError("--for must be more than 0 and at most 1440 minutes (one day)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    res = RecordResult()
    n_polls = int(minutes * 60 // every_s) + 1
    start = clock()
    for k in range(n_polls):
        wait = start + k * every_s - clock()
        if wait > 0:
            sleep(wait)
        res.polls += 1
        try:
            data = _fetch(url, timeout_s, max_bytes)
        except (urllib.error.URLError, OSError, DataError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
            res.messages.append(f"poll {k + 1}: cannot fetch {url} ({reason}); check the address and the network")
            continue
        msg = rt.FeedMessage()
        try:
            msg.ParseFromString(data)
            ok = bool(msg.header.gtfs_realtime_version)
        except Exception:  # noqa: BLE001 - protobuf DecodeError and others
            ok = False
        if not ok:
            res.messages.append(f"poll {k + 1}: the answer of {url} ({len(data):,} bytes) is not a GTFS-Realtime "
                                "protobuf; nothing was saved for this poll")
            continue
        ts = int(msg.header.timestamp) or int(time.time())
        kind = "trip_updates" if any(e.HasField("trip_update") for e in msg.entity) and \
            not any(e.HasField("vehicle") for e in msg.entity) else "vehicle_positions"
        path = out / snapshot_name(ts, kind)
        if path.exists():
            res.messages.append(f"poll {k + 1}: the feed still shows timestamp {ts}; already saved as {path.name}")
            continue
        try:
            _write_atomic(path, data)
        except OSError as exc:
            res.messages.append(f"poll {k + 1}: cannot write {path} ({exc.strerror or exc}); nothing was kept "
                                "for this poll: check the disk and the folder's permissions")
            continue
        res.saved.append(path)
    return res


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
        raise DataError(f"{sp}: not a valid AVL description ({str(exc).splitlines()[0]})") from None
    avl = read_avl(sp.parent / spec.file, columns=spec.columns, timezone=spec.timezone or "UTC",
                   status_at_stop=spec.status_at_stop, direction_values=spec.direction_values)
    return write_snapshots(avl, out_folder)


# --------------------------------------------------------------------------
# Checks for `citybridge validate`
# --------------------------------------------------------------------------

def _position_problems(df: pd.DataFrame, file: Path, bbox, kind: str, tz: str, row_col: str,
                       fields: dict[str, str]) -> list[tuple]:
    """Problems of positions read from one input: (severity, file, column, row, message)."""
    out: list[tuple] = []
    where_ = (lambda i: f"entity {int(df[row_col].iloc[i])} ('{df['vehicle_id'].iloc[i]}')") if kind == "pb" \
        else (lambda i: f"row {int(df[row_col].iloc[i])}")

    def first(mask, column, text):
        mask = np.asarray(mask, bool)
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            out.append(("warning", str(file), column, str(int(df[row_col].iloc[i])),
                        f"{int(mask.sum()):,} position(s) {text} (first: {where_(i)})"))

    bad = df["lat"].isna() | df["lon"].isna() | (df["lat"].abs() > 90) | (df["lon"].abs() > 180) | \
        ((df["lat"] == 0) & (df["lon"] == 0))
    first(bad, fields["lat"], "without a valid latitude/longitude; chapter 08 leaves them out")
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        outside = ~bad & ((df["lon"] < minx) | (df["lon"] > maxx) | (df["lat"] < miny) | (df["lat"] > maxy))
        first(outside, fields["lat"], "outside the city (more than about 10 km beyond the feed's stops); check the "
              "coordinates (latitude and longitude swapped? another city?)")
    first(df.duplicated(["snapshot_ts", "vehicle_id"]), fields["vehicle"],
          "repeat a vehicle already seen at the same time (duplicate fixes); keep one fix per vehicle and snapshot")
    if len(df):
        start = float(df["snapshot_ts"].min())
        mid = dt.datetime.fromtimestamp(start, ZoneInfo(tz)).replace(hour=0, minute=0, second=0, microsecond=0)
        late = df["snapshot_ts"] > mid.timestamp() + 28 * 3600
        first(late, fields["time"], f"lie outside the service day of {mid:%Y-%m-%d} (more than 28 h after its "
              "midnight); keep one service day per capture")
        fut = df["fix_ts"] > df["snapshot_ts"] + 60
        old = df["fix_ts"] < df["snapshot_ts"] - 86400
        first(fut | old, fields["fix"], "have a fix time more than a minute after the snapshot or more than a day "
              "before it; check the clock or the time zone")
    return out


def check_realtime(city, *, bbox: tuple[float, float, float, float] | None = None) -> list[tuple]:
    """Problems of a city's realtime inputs, for ``citybridge validate``.

    Parameters
    ----------
    city
        A :class:`citybridge.city.City`.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` of the city; positions
        outside are reported.

    Returns
    -------
    list of tuple
        ``(severity, file, column_or_field, row_or_entity, message)``;
        severity ``warning`` (chapter 08 cannot use the input as is) or
        ``info``. Never raises.
    """
    spec = city.profile.realtime
    yml = city.folder / "city.yml"
    if spec is None:
        return [("info", str(yml), "", "", "no 'realtime' given: add GTFS-Realtime snapshots or an AVL table to "
                 "unlock chapter 08 (operations as observed)")]
    out: list[tuple] = []
    tz = city.profile.timezone
    try:
        ZoneInfo(tz)
    except Exception:  # noqa: BLE001 - reported by the profile checks
        tz = "UTC"
    pb_fields = {"lat": "vehicle.position.latitude", "vehicle": "vehicle.vehicle.id", "time": "header.timestamp",
                 "fix": "vehicle.timestamp"}
    for name in ("vehicle_positions", "trip_updates"):
        rel = getattr(spec, name)
        if rel is None:
            continue
        p = city.folder / rel
        if not p.exists():
            out.append(("warning", str(p), name, "", f"named by 'realtime.{name}' in city.yml but missing; add the "
                        "snapshots (citybridge realtime record) or remove the line"))
            continue
        files = snapshot_files(p)
        if not files:
            out.append(("warning", str(p), name, "", "no .pb snapshot here; record some with 'citybridge realtime "
                        "record' or remove the line"))
        n = 0
        for f in files:
            try:
                msg = parse_snapshot(f)
            except DataError as exc:
                loc, _, text = str(exc).partition(": ")
                fld = loc.split(", field ", 1)[1] if ", field " in loc else ""
                out.append(("warning", str(f), fld, "", text or str(exc)))
                continue
            if not msg.header.timestamp:
                out.append(("warning", str(f), "header.timestamp", "", "the snapshot has no timestamp; its time "
                            "cannot be known: record it again"))
                continue
            if name == "trip_updates" or not any(e.HasField("vehicle") for e in msg.entity):
                if not any(e.HasField("trip_update") or e.HasField("vehicle") for e in msg.entity):
                    out.append(("warning", str(f), "entity", "", "no VehiclePosition or TripUpdate entity in this "
                                "snapshot"))
                continue
            df = read_vehicle_positions([f])
            n += len(df)
            out += _position_problems(df, f, bbox, "pb", tz, "entity", pb_fields)
        if n:
            out.append(("info", str(p), "", "", f"{n:,} vehicle positions in {len(files):,} snapshot(s)"))
    if spec.avl is not None:
        p = city.folder / spec.avl.file
        try:
            df = read_city_avl(city).assign(row=lambda d: np.arange(1, len(d) + 1))
        except DataError as exc:
            text = str(exc)
            loc, _, msg = text.partition(": ")
            parts = [x.strip() for x in loc.split(", ")]
            col = next((x[8:-1] for x in parts if x.startswith("column '")), "")
            row = next((x[4:] for x in parts if x.startswith("row ")), "")
            return out + [("warning", str(p), col, row, msg or text)]
        cm = {k: spec.avl.columns.get(k, k) for k in ("lat", "vehicle", "time")}
        fields = {"lat": cm["lat"], "vehicle": cm["vehicle"], "time": cm["time"],
                  "fix": spec.avl.columns.get("fix_age_min", spec.avl.columns.get("fix_age_s", cm["time"]))}
        out += _position_problems(df, p, bbox, "avl", spec.avl.timezone or tz, "row", fields)
        out.append(("info", str(p), "", "", f"AVL table: {len(df):,} positions of {df['vehicle_id'].nunique():,} "
                    "vehicles"))
    return out
