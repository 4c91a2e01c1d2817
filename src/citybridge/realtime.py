"""Realtime inputs: GTFS-Realtime snapshots, AVL tables, and recording.

A city declares ``realtime:`` in ``city.yml`` (see
:class:`citybridge.city.RealtimeSpec`). The standard path is a folder of
GTFS-Realtime protobuf snapshots (``*.pb``, read with the
``gtfs-realtime-bindings`` package); an automatic vehicle location (AVL)
table (CSV or Parquet) is converted into such snapshots by
:mod:`citybridge.avl`, so a digital platform
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

from .errors import CitybridgeError, DataError
from .texts import T, tr

#: a GTFS-Realtime file larger than this is refused (bytes)
MAX_PB_BYTES = 64 * 1024 * 1024

POSITION_COLUMNS = ["snapshot_ts", "fix_ts", "vehicle_id", "lat", "lon", "speed_kmh", "bearing",
                    "trip_id", "route_id", "direction_id", "status", "stop_id", "current_stop_sequence",
                    "file", "entity"]


def rt_bindings():
    try:
        from google.transit import gtfs_realtime_pb2
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise CitybridgeError(tr("the 'gtfs-realtime-bindings' package is missing: pip install "
                                 "gtfs-realtime-bindings")) from exc
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
    raise DataError(f"{p}: " + tr("no such file or folder of GTFS-Realtime snapshots; record some with "
                                  "'citybridge realtime record' or correct 'realtime' in city.yml"))


def parse_snapshot(path: Path):
    """Parse one GTFS-Realtime ``FeedMessage`` file.

    Raises
    ------
    DataError
        The file is too large, empty or not a GTFS-Realtime protobuf.
    """
    rt = rt_bindings()
    size = path.stat().st_size
    if size > MAX_PB_BYTES:
        raise DataError(f"{path}: " + tr("{size:,} bytes, more than the {limit:,} accepted for one snapshot; is it "
                                         "really a GTFS-Realtime file?", size=size, limit=MAX_PB_BYTES))
    data = path.read_bytes()
    msg = rt.FeedMessage()
    try:
        msg.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
        raise DataError(f"{path}: " + tr("cannot decode this GTFS-Realtime protobuf ({kind}); the file is damaged "
                                         "or not a GTFS-Realtime feed: record it again or remove it",
                                         kind=type(exc).__name__)) from None
    if not data or not msg.header.gtfs_realtime_version:
        raise DataError(f"{path}, field header.gtfs_realtime_version: " + tr(
            "missing, so this is not a GTFS-Realtime FeedMessage; record it again or remove it"))
    return msg


def _entities(path: str | os.PathLike[str] | list[Path], kind: str):
    """Yield (file name, header timestamp, 1-based entity number, entity) for the
    entities of every snapshot file that carry ``kind`` (``vehicle`` or ``trip_update``)."""
    files = path if isinstance(path, list) else snapshot_files(path)
    for f in files:
        msg = parse_snapshot(Path(f))
        head = int(msg.header.timestamp)
        for i, e in enumerate(msg.entity, start=1):
            if e.HasField(kind):
                yield Path(f).name, head, i, e


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
    rt = rt_bindings()
    names = {v.number: v.name for v in rt.VehiclePosition.VehicleStopStatus.DESCRIPTOR.values}
    rows: list[tuple] = []
    for name, head, i, e in _entities(path, "vehicle"):
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
            name, i))
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
    rows: list[tuple] = []
    for name, head, i, e in _entities(path, "trip_update"):
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
                         name, i))
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


def snapshot_name(ts: int, kind: str = "vehicle_positions") -> str:
    """``vehicle_positions_YYYYMMDDTHHMMSSZ.pb`` for a POSIX timestamp (UTC)."""
    return f"{kind}_{dt.datetime.fromtimestamp(int(ts), dt.timezone.utc):%Y%m%dT%H%M%SZ}.pb"


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name("." + path.name + ".part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
        raise DataError(f"{city.folder / 'city.yml'}: " + tr("no 'realtime' inputs declared"))
    if spec.vehicle_positions is not None:
        files = snapshot_files(city.folder / spec.vehicle_positions)
        if files:
            return read_vehicle_positions(files)
        if spec.avl is None:
            raise DataError(f"{city.folder / spec.vehicle_positions}: " + tr(
                "no .pb snapshot in this folder; record some with 'citybridge realtime record'"))
    from .avl import read_city_avl

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
        raise DataError(f"{url}: " + tr("the answer is larger than {limit:,} bytes; is this a GTFS-Realtime feed?",
                                        limit=max_bytes))
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
    rt = rt_bindings()
    if not str(url).lower().startswith(("http://", "https://")):
        raise CitybridgeError(f"--url {url!r}: " + tr("give the feed's web address, starting with http:// or "
                                                      "https://"))
    if not every_s >= 1:
        raise CitybridgeError(tr("--every must be at least 1 second"))
    if not 0 < minutes <= 1440:
        raise CitybridgeError(tr("--for must be more than 0 and at most 1440 minutes (one day)"))
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CitybridgeError(f"{out}: " + tr("cannot create the snapshot folder ({reason}); check the folder's "
                                              "permissions or free disk space",
                                              reason=str(exc.strerror or exc))) from None
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
            res.messages.append(tr("poll {k}: cannot fetch {url} ({reason}); check the address and the network",
                                   k=k + 1, url=url, reason=str(reason)))
            continue
        msg = rt.FeedMessage()
        try:
            msg.ParseFromString(data)
            ok = bool(msg.header.gtfs_realtime_version)
        except Exception:  # noqa: BLE001 - protobuf DecodeError and others
            ok = False
        if not ok:
            res.messages.append(tr("poll {k}: the answer of {url} ({size:,} bytes) is not a GTFS-Realtime protobuf; "
                                   "nothing was saved for this poll", k=k + 1, url=url, size=len(data)))
            continue
        ts = int(msg.header.timestamp) or int(time.time())
        kind = "trip_updates" if any(e.HasField("trip_update") for e in msg.entity) and \
            not any(e.HasField("vehicle") for e in msg.entity) else "vehicle_positions"
        path = out / snapshot_name(ts, kind)
        if path.exists():
            res.messages.append(tr("poll {k}: the feed still shows timestamp {ts}; already saved as {name}", k=k + 1,
                                   ts=str(ts), name=path.name))
            continue
        try:
            write_atomic(path, data)
        except OSError as exc:
            res.messages.append(tr("poll {k}: cannot write {path} ({reason}); nothing was kept for this poll: check "
                                   "the disk and the folder's permissions", k=k + 1, path=str(path),
                                   reason=str(exc.strerror or exc)))
            continue
        res.saved.append(path)
    return res


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
        ``info``; the message is a :class:`~citybridge.texts.Text` (translated
        when shown) where written here. Never raises.
    """
    spec = city.profile.realtime
    yml = city.folder / "city.yml"
    if spec is None:
        return [("info", str(yml), "", "", T("no 'realtime' given: add GTFS-Realtime snapshots or an AVL table to "
                                             "unlock chapter 08 (operations as observed)"))]
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
            out.append(("warning", str(p), name, "", T("named by 'realtime.{name}' in city.yml but missing; add the "
                                                       "snapshots (citybridge realtime record) or remove the line",
                                                       name=name)))
            continue
        files = snapshot_files(p)
        if not files:
            out.append(("warning", str(p), name, "", T("no .pb snapshot here; record some with 'citybridge "
                                                       "realtime record' or remove the line")))
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
                out.append(("warning", str(f), "header.timestamp", "", T("the snapshot has no timestamp; its time "
                                                                         "cannot be known: record it again")))
                continue
            if name == "trip_updates" or not any(e.HasField("vehicle") for e in msg.entity):
                if not any(e.HasField("trip_update") or e.HasField("vehicle") for e in msg.entity):
                    out.append(("warning", str(f), "entity", "", T("no VehiclePosition or TripUpdate entity in "
                                                                   "this snapshot")))
                continue
            df = read_vehicle_positions([f])
            n += len(df)
            out += _position_problems(df, f, bbox, "pb", tz, "entity", pb_fields)
        if n:
            out.append(("info", str(p), "", "", T("{n:,} vehicle positions in {files:,} snapshot(s)", n=n,
                                                  files=len(files))))
    if spec.avl is not None:
        p = city.folder / spec.avl.file
        from .avl import read_city_avl

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
        out.append(("info", str(p), "", "", T("AVL table: {n:,} positions of {vehicles:,} vehicles", n=len(df),
                                              vehicles=int(df["vehicle_id"].nunique()))))
    return out
