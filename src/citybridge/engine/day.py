"""The columnar service day (:class:`FeedDay`) and the integer codes it is built on."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..columns import take_text

#: Order in which modes are listed.
MODE_ORDER = ["metro", "rail", "tram", "bus", "ferry", "aerial", "funicular", "other"]


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each (distinct) string in sorted order, and the sorted strings.

    Returns
    -------
    rank, sorted_values
        ``sorted_values[rank] == values``.
    """
    values = np.asarray(values, dtype=object)
    order = np.argsort(values.astype(str) if len(values) else values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank, values[order]


def codes_of(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer code of each value, codes in sorted order of the distinct values.

    Returns
    -------
    codes, uniques
        ``uniques[codes]`` gives the values back (int64 codes).
    """
    codes, uniq = pd.factorize(pd.Series(np.asarray(values, dtype=object)), sort=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object)


@dataclass(eq=False)
class FeedDay:
    """One service day of a feed, held as integer codes.

    Attributes
    ----------
    feed : citybridge.feed.FeedTables or gtfs_kit.Feed
        The feed's tables as read (stops in WGS-84). Read through
        :func:`citybridge.feed.read_day` its ``stop_times`` is empty: stop
        times live in the arrays below.
    date : str
        The analysis date, ``YYYYMMDD``.
    crs : str
        The local metric CRS used for distances.
    stops : DataFrame
        ``stop_id``, ``stop_name``, ``stop_lat``, ``stop_lon`` (degrees,
        WGS-84), ``parent_station``, ``location_type``; every stop of the feed.
    routes : DataFrame
        ``route_id``, ``route_short_name``, ``route_long_name``,
        ``route_type``, ``mode``, ``route_color`` (and the feed's other columns).
    trips : DataFrame
        Concrete trips running on the date (frequencies expanded), sorted by
        ``trip_id``; row *i* is trip code *i*: ``trip_id``, ``template_id``,
        ``route_id``, ``mode``, ``service_id``, ``direction_id``,
        ``vehicle_energy`` (``diesel``/``electric``/``other``/``unknown``),
        ``start_s``, ``end_s`` (s after midnight of the service day; may
        exceed 86,400), ``n_stops`` (count).
    stop_ids : ndarray of str
        Stop id of each stop code, sorted; every stop served on the day.
    trip, stop : ndarray of int32
        Trip and stop code of each stop time; rows sorted by trip code then
        stop order.
    seq : ndarray of int64
        ``stop_sequence`` of each stop time.
    arr, dep : ndarray of float
        Arrival and departure (s after midnight of the service day).
    notes : list of str
        What was fixed or assumed while preparing the day.
    city_name : str
        The city's name, when the day belongs to a city.
    """

    feed: object
    date: str
    crs: str
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_ids: np.ndarray
    trip: np.ndarray
    stop: np.ndarray
    seq: np.ndarray
    arr: np.ndarray
    dep: np.ndarray
    notes: list[str] = field(default_factory=list)
    city_name: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = {k: v for k, v in self._cache.items() if k == "xy"}
        return state

    @property
    def n_stop_times(self) -> int:
        """Number of stop times on the day."""
        return len(self.trip)

    @property
    def is_frequency_based(self) -> bool:
        """Whether the feed has ``frequencies.txt`` rows."""
        fr = getattr(self.feed, "frequencies", None)
        return fr is not None and not fr.empty

    def trip_starts(self) -> np.ndarray:
        """Row index of each trip's first stop time."""
        if "starts" not in self._cache:
            counts = np.bincount(self.trip, minlength=len(self.trips))
            self._cache["starts"] = np.cumsum(counts) - counts
        return self._cache["starts"]

    @property
    def stop_times(self) -> pd.DataFrame:
        """Stop times as a table, built from the codes on first use.

        Columns ``trip_id``, ``template_id``, ``route_id``, ``mode``,
        ``stop_id``, ``stop_sequence`` (int), ``arrival_s``, ``departure_s``
        (s after midnight of the service day); sorted by trip and stop order.
        Treat it as read-only.
        """
        if "stop_times" not in self._cache:
            self._cache["stop_times"] = self.stop_time_rows(None)
        return self._cache["stop_times"]

    def stop_time_rows(self, rows: np.ndarray | None) -> pd.DataFrame:
        """Some rows of :attr:`stop_times` (a boolean mask over the stop times;
        None: all), built without the others; the index is the rows' positions."""
        at = np.arange(len(self.trip)) if rows is None else np.flatnonzero(rows)
        t, trip = self.trips, self.trip[at]
        out = pd.DataFrame({
            "trip_id": take_text(t["trip_id"], trip),
            "template_id": take_text(t["template_id"], trip),
            "route_id": take_text(t["route_id"], trip),
            "mode": take_text(t["mode"], trip),
            "stop_id": take_text(self.stop_ids, self.stop[at]),
            "stop_sequence": self.seq[at],
            "arrival_s": self.arr[at],
            "departure_s": self.dep[at],
        })
        return out if rows is None else out.set_axis(at)

    def stops_xy(self) -> pd.DataFrame:
        """Stops with ``x``, ``y`` in metres in :attr:`crs`, indexed by stop_id."""
        if "xy" not in self._cache:
            from pyproj import Transformer

            tr = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
            x, y = tr.transform(self.stops["stop_lon"].to_numpy(), self.stops["stop_lat"].to_numpy())
            self._cache["xy"] = self.stops.assign(x=x, y=y).set_index("stop_id")
        return self._cache["xy"]

    def remember(self, key: str, compute):
        """The value kept under ``key`` for this day, from ``compute()`` on first use (never pickled)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def modes(self) -> list[str]:
        """Modes with at least one trip on the date, in a fixed order."""
        present = set(self.trips["mode"])
        return [m for m in MODE_ORDER if m in present]

    def select(self, rows: np.ndarray, trips: pd.DataFrame, *, notes: list[str] | None = None) -> FeedDay:
        """The same day keeping only some stop times (e.g. after a closure), without copying text.

        Parameters
        ----------
        rows
            Boolean mask over the day's stop times (the rows of :attr:`stop_times`).
        trips
            The trips to keep (rows of :attr:`trips`, ``start_s``/``end_s``/
            ``n_stops`` may be updated); kept rows of other trips are dropped.
        notes
            Notes of the new day (default: this day's).
        """
        t = trips.sort_values("trip_id", kind="stable").reset_index(drop=True)
        new_code = np.full(len(self.trips), -1, dtype=np.int64)
        old = pd.Index(self.trips["trip_id"]).get_indexer(t["trip_id"])
        new_code[old[old >= 0]] = np.flatnonzero(old >= 0)
        keep = np.asarray(rows, dtype=bool) & (new_code[self.trip] >= 0)
        used, stop = np.unique(self.stop[keep], return_inverse=True)
        out = FeedDay(feed=self.feed, date=self.date, crs=self.crs, stops=self.stops, routes=self.routes,
                      trips=t, stop_ids=self.stop_ids[used], trip=new_code[self.trip[keep]].astype(np.int32),
                      stop=stop.astype(np.int32), seq=self.seq[keep], arr=self.arr[keep], dep=self.dep[keep],
                      notes=list(self.notes if notes is None else notes), city_name=self.city_name)
        if "xy" in self._cache:
            out._cache["xy"] = self._cache["xy"]
        return out


