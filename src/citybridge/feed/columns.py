"""Columns: the GTFS column types, and ``stop_times.txt`` as integer-coded columns.

:data:`GTFS_TYPES` and :func:`typed_table` give every table the column types
gtfs-kit gives it (text as ``string``, counts and flags as nullable
integers, coordinates as floats), without importing gtfs-kit.

Both ways into a service day (:func:`citybridge.feed.read_day`, which streams
the file, and :func:`citybridge.feed.prepare_day`, which starts from a read
feed) hold stop times as :class:`Column` objects and check them
with :func:`check_stop_times`, so blank ids and unreadable stop sequences are
refused once, in one way, naming the file, column and row.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ..errors import FeedError, where
from ..texts import tr
from .stream import STOP_TIME_COLUMNS, STOP_TIMES, Column  # noqa: F401 - the coded columns, made by the stream



#: The column types of every GTFS table, as ``gtfs_kit.constants.DTYPES`` gives them (a test checks
#: they agree); columns not listed are typed by pandas' CSV reader, as gtfs-kit does.
GTFS_TYPES: dict[str, dict[str, str]] = {
    "agency": dict.fromkeys(["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang",
                             "agency_phone", "agency_fare_url", "agency_email"], "string"),
    "attributions": {**dict.fromkeys(["attribution_id", "agency_id", "route_id", "trip_id", "organization_name"],
                                     "string"),
                     **dict.fromkeys(["is_producer", "is_operator", "is_authority"], "Int32"),
                     **dict.fromkeys(["attribution_url", "attribution_email", "attribution_phone"], "string")},
    "calendar": {"service_id": "string",
                 **dict.fromkeys(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
                                 "Int32"),
                 "start_date": "string", "end_date": "string"},
    "calendar_dates": {"service_id": "string", "date": "string", "exception_type": "Int32"},
    "fare_attributes": {"fare_id": "string", "price": "float", "currency_type": "string", "payment_method": "Int32",
                        "transfers": "Int32", "agency_id": "string", "transfer_duration": "Int16"},
    "fare_rules": dict.fromkeys(["fare_id", "route_id", "origin_id", "destination_id", "contains_id"], "string"),
    "feed_info": dict.fromkeys(["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date",
                                "feed_end_date", "feed_version"], "string"),
    "frequencies": {"trip_id": "string", "start_time": "string", "end_time": "string", "headway_secs": "Int16",
                    "exact_times": "Int32"},
    "routes": {**dict.fromkeys(["route_id", "agency_id", "route_short_name", "route_long_name", "route_desc"],
                               "string"),
               "route_type": "Int32", "route_url": "string", "route_color": "string", "route_text_color": "string"},
    "shapes": {"shape_id": "string", "shape_pt_lat": "float", "shape_pt_lon": "float", "shape_pt_sequence": "Int32",
               "shape_dist_traveled": "float"},
    "stop_times": {"trip_id": "string", "arrival_time": "string", "departure_time": "string", "stop_id": "string",
                   "stop_sequence": "Int32", "stop_headsign": "string", "pickup_type": "Int32",
                   "drop_off_type": "Int32", "shape_dist_traveled": "float", "timepoint": "Int32"},
    "stops": {**dict.fromkeys(["stop_id", "stop_code", "stop_name", "stop_desc"], "string"),
              "stop_lat": "float", "stop_lon": "float", "zone_id": "string", "stop_url": "string",
              "location_type": "Int32", "parent_station": "string", "stop_timezone": "string",
              "wheelchair_boarding": "Int32"},
    "transfers": {"from_stop_id": "string", "to_stop_id": "string", "transfer_type": "Int32",
                  "min_transfer_time": "Int16"},
    "trips": {**dict.fromkeys(["route_id", "service_id", "trip_id", "trip_headsign", "trip_short_name"], "string"),
              "direction_id": "Int32", "block_id": "string", "shape_id": "string",
              "wheelchair_accessible": "Int32", "bikes_allowed": "Int32"},
}

#: Text that pandas' CSV reader takes as missing (its defaults), plus a lone space, as gtfs-kit reads.
MISSING_TEXT = frozenset({"", " ", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                          "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def _read_back(df: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """The columns of ``df`` typed by pandas' CSV reader from their CSV text, with the options
    gtfs-kit reads a feed with (the row number written first, so no row is a blank line)."""
    label = "\x00row"
    text = df.to_csv(index_label=label)
    out = pd.read_csv(io.StringIO(text), index_col=label, dtype={c: t for c, t in types.items() if c in df},
                      na_values=sorted(MISSING_TEXT), keep_default_na=True, dtype_backend="numpy_nullable")
    out.index = df.index
    return out


def distinct_values(v: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The distinct values of the text column ``v`` and each row's code into them.

    Returns
    -------
    codes, values
        ``values`` (a Series indexed ``0 … k-1``, of ``v``'s type) in order
        of first appearance; ``values.iloc[codes]`` gives ``v``'s values back.
        A missing value (none in cleaned text; :data:`MISSING_TEXT` is text)
        has the code of a last, added value: ``"nan"``.
    """
    codes, uniq = pd.factorize(v)
    values = pd.Series(uniq, dtype=v.dtype)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(values), codes)
        values = pd.concat([values, pd.Series(["nan"], dtype=v.dtype)], ignore_index=True)
    return codes, values


def typed_table(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """A table of text columns typed as gtfs-kit types it (:data:`GTFS_TYPES`).

    Parameters
    ----------
    df
        One GTFS table, its values stripped text (as
        :func:`citybridge.feed.read_tables` returns them) whose integer
        columns other than ``stop_sequence`` hold plain whole numbers or
        blanks; columns already numeric (checked coordinates) stay as they are.
    table
        The table's name, e.g. ``"trips"``.

    Returns
    -------
    DataFrame
        The same columns in the same order: ``string`` columns with missing
        values (:data:`MISSING_TEXT`) as ``<NA>``; nullable integer columns
        (``Int16``, ``Int32``); ``float64`` columns; columns gtfs-kit does
        not know typed by pandas' CSV reader (e.g. ``Int64``, ``Float64``,
        ``string``), as gtfs-kit's ``read_feed`` gives them.

    Raises
    ------
    ValueError, TypeError, ArithmeticError
        A value the reader cannot take as its column's type.
    """
    types = GTFS_TYPES.get(table, {})
    out: dict[str, pd.Series] = {}
    rest: list[str] = []
    for c in df.columns:
        typ, v = types.get(c), df[c]
        text = not pd.api.types.is_numeric_dtype(v.dtype)
        if typ == "string" and text:
            out[c] = v.mask(v.isin(MISSING_TEXT)).astype("string")
        elif typ is not None and typ.startswith("Int") and c != "stop_sequence" and text:
            codes, text = distinct_values(v)  # each distinct text read once
            num = pd.to_numeric(text.mask(text == "")).astype(typ)
            out[c] = pd.Series(num.array.take(codes), index=v.index, name=c)
        elif typ == "float" and v.dtype == np.float64:
            out[c] = v
        else:
            rest.append(c)
    if rest:
        back = _read_back(df[rest], types)
        out.update({c: back[c] for c in rest})
    return pd.DataFrame({c: out[c] for c in df.columns}, index=df.index)


def frame_columns(df: pd.DataFrame) -> dict[str, Column]:
    """The :data:`STOP_TIME_COLUMNS` of a text table as :class:`Column` objects
    (blank for missing values; white space stripped)."""
    out = {}
    for c in STOP_TIME_COLUMNS:
        if c in df.columns:
            v = df[c].fillna("").astype(str).str.strip()
            codes, uniq = pd.factorize(v)
            out[c] = Column(codes.astype(np.int32), np.asarray(uniq, dtype=object))
    return out


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def check_stop_times(cols: dict[str, Column], names: list[str], label: str) -> np.ndarray:
    """Refuse stop times the workbook cannot use; return each row's stop_sequence.

    Parameters
    ----------
    cols
        The coded columns (``trip_id``, ``stop_id``, ``stop_sequence`` at least).
    names
        Every column name of the file.
    label
        The file, for messages.

    Returns
    -------
    ndarray of float
        ``stop_sequence`` of each distinct value of the column: the
        sequence of row *i* is ``result[cols["stop_sequence"].codes[i]]``
        (a row array of millions is made only for the rows that need it).

    Raises
    ------
    FeedError
        A blank ``trip_id`` or ``stop_id``, a ``stop_sequence`` that is not a
        whole number, or neither ``arrival_time`` nor ``departure_time``
        present (file, column and first row named).
    """
    for key in ("trip_id", "stop_id"):
        c = cols[key]
        blank_u = c.values == ""
        if blank_u.any():
            blank = blank_u[c.codes]
            raise FeedError(f"{where(label, key, _first(blank))}: "
                            + tr("the {key} is blank ({n:,} row(s)); every row needs one", key=key,
                                 n=int(blank.sum())))
    c = cols["stop_sequence"]
    seq_u = pd.to_numeric(pd.Series(c.values, dtype=object), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad_u = np.isnan(seq_u) | (seq_u < 0) | (seq_u != np.round(seq_u))
    if bad_u.any():
        bad = bad_u[c.codes]
        i = _first(bad)
        raise FeedError(f"{where(label, 'stop_sequence', i)}: "
                        + tr("'{value}' is not a whole number ({n:,} row(s)); stop_sequence orders the stops of a "
                             "trip: write 1, 2, 3, …", value=str(c.values[c.codes[i - 1]]), n=int(bad.sum())))
    if "arrival_time" not in names and "departure_time" not in names:
        raise FeedError(f"{where(label, 'departure_time')}: "
                        + tr("neither arrival_time nor departure_time is present; the timetable needs times"))
    return seq_u
