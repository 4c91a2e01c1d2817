"""Bike-share stations from a GBFS feed (v2.3, v3 localised names accepted).

The stations are read from ``station_information.json``: a folder holding
it, the file itself, or a ``gbfs.json`` auto-discovery file whose feed URLs
are resolved to files in the same folder, so no network is needed.
Coordinates are WGS-84 degrees by the GBFS specification (the CRS policy of
:mod:`citybridge.inputs` for a format that defines its CRS).
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from ..errors import DataError
from ..texts import tr


def _load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataError(f"{path}: " + tr("file not found; give the GBFS folder or its gbfs.json")) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: " + tr("not valid JSON ({reason}); check the file is a GBFS document",
                                         reason=str(exc))) from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: " + tr("expected a JSON object with 'data'; this is not a GBFS document"))
    return data


def _station_file(path: Path) -> Path:
    """Find station_information.json from a folder, a gbfs.json or the file itself."""
    path = Path(path)
    if path.is_dir():
        direct = path / "station_information.json"
        if direct.is_file():
            return direct
        disc = path / "gbfs.json"
        if disc.is_file():
            return _station_file(disc)
        raise DataError(f"{path}: " + tr("no station_information.json or gbfs.json in this folder; add the GBFS "
                                         "files (v2.3)"))
    if path.name == "gbfs.json":
        doc = _load_json(path)
        data = doc.get("data")
        if not isinstance(data, dict):
            raise DataError(f"{path}, field 'data': " + tr("expected an object with one entry per language (e.g. "
                                                           "{\"en\": {\"feeds\": [...]}}); this is not a GBFS "
                                                           "gbfs.json"))
        feeds = []
        for code, lang in data.items():
            if not isinstance(lang, dict):
                continue
            listed = lang.get("feeds", [])
            if not isinstance(listed, list) or not all(isinstance(f, dict) for f in listed):
                raise DataError(f"{path}, field 'data.{str(code)[:20]}.feeds': "
                                + tr("expected a list of objects with 'name' and 'url'; correct the gbfs.json"))
            feeds += listed
        for f in feeds:
            if f.get("name") == "station_information":
                local = path.parent / Path(urlparse(str(f.get("url", ""))).path).name
                if local.is_file():
                    return local
                raise DataError(f"{path}: " + tr("station_information is listed at {url} but {name} is not in "
                                                 "{folder}; download it next to gbfs.json", url=str(f.get("url")),
                                                 name=local.name, folder=str(path.parent)))
        raise DataError(f"{path}, field 'data.<language>.feeds': " + tr("no 'station_information' feed listed"))
    return path


def read_gbfs(path: str | Path) -> pd.DataFrame:
    """Bike-share stations from a GBFS v2.3 feed.

    Parameters
    ----------
    path
        A folder with ``station_information.json`` (or ``gbfs.json``), the
        ``gbfs.json`` auto-discovery file, or ``station_information.json``.

    Returns
    -------
    DataFrame
        ``station_id`` (str), ``name`` (str), ``lat``, ``lon`` (degrees,
        WGS-84), ``capacity`` (docks; NaN where the optional field is absent).

    Raises
    ------
    DataError
        Missing file, invalid JSON, or a station without id or coordinates
        (the message names the station's index in ``data.stations``).
    """
    f = _station_file(Path(path))
    doc = _load_json(f)
    data = doc.get("data")
    stations = data.get("stations") if isinstance(data, dict) else None
    if not isinstance(stations, list):
        raise DataError(f"{f}, field 'data.stations': " + tr("missing or not a list; this is not a "
                                                             "station_information document"))
    rows = []
    for i, s in enumerate(stations):
        if not isinstance(s, dict):
            raise DataError(f"{f}, field 'data.stations[{i}]': "
                            + tr("expected an object with station_id, name, lat and lon, found {kind}; correct the "
                                 "file", kind=type(s).__name__))
        for key in ("station_id", "lat", "lon"):
            if key not in s or s[key] in (None, ""):
                raise DataError(f"{f}, field 'data.stations[{i}].{key}': "
                                + tr("required value missing; every station needs station_id, lat and lon"))
        try:
            lat, lon = float(s["lat"]), float(s["lon"])
        except (TypeError, ValueError):
            raise DataError(f"{f}, field 'data.stations[{i}]': " + tr("lat/lon are not numbers")) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise DataError(f"{f}, field 'data.stations[{i}]': " + tr("lat {lat}, lon {lon} out of range",
                                                                      lat=str(lat), lon=str(lon)))
        name = s.get("name", "")
        if isinstance(name, list):  # GBFS v3 localised names
            name = name[0].get("text", "") if name and isinstance(name[0], dict) else ""
        cap = s.get("capacity")
        if cap is not None:
            try:
                cap = float(cap)
            except (TypeError, ValueError):
                cap = None
            if cap is None or not np.isfinite(cap) or cap < 0 or isinstance(s.get("capacity"), bool):
                raise DataError(f"{f}, field 'data.stations[{i}].capacity': "
                                + tr("{value} is not a number of docks; write a whole number such as 20, or leave "
                                     "the field out", value=repr(str(s.get("capacity"))[:40])))
        rows.append({"station_id": str(s["station_id"]), "name": str(name), "lat": lat, "lon": lon,
                     "capacity": cap if cap is not None else np.nan})
    out = pd.DataFrame(rows, columns=["station_id", "name", "lat", "lon", "capacity"])
    _check_swapped(out, f)
    return out


def _check_swapped(stations: pd.DataFrame, f: Path) -> None:
    """Refuse a station whose lat/lon, exchanged, would put it among the others."""
    if len(stations) < 3:
        return
    lat, lon = stations["lat"], stations["lon"]
    mlat, mlon = lat.median(), lon.median()
    far = ((lat - mlat).abs() > 2) | ((lon - mlon).abs() > 2)
    back = ((lon - mlat).abs() < 1) & ((lat - mlon).abs() < 1)
    sw = far & back
    if sw.any():
        i = int(np.flatnonzero(sw.to_numpy())[0])
        raise DataError(f"{f}, field 'data.stations[{i}]': "
                        + tr("lat {lat}, lon {lon} lies far from the other stations but would sit among them with "
                             "latitude and longitude swapped; exchange the two values", lat=str(lat.iloc[i]),
                             lon=str(lon.iloc[i])))
