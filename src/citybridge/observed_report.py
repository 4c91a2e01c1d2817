"""Sentences and tables of chapter 08 (observed operations), in the language in force.

They read an :class:`citybridge.observed_view.ObservedDay` (:func:`citybridge.observed_view.analyse`)
and write whole-sentence messages of the package catalog (:func:`citybridge.texts.tr`,
``ngettext``), numbers in the conventions of the language; notebooks call them when
an output is drawn (``nb.say(OR.speed_sentence, obs)``), once per language of the build.
"""
from __future__ import annotations

import pandas as pd

from . import observed as O
from . import punctuality as P
from .i18n import N_, ngettext
from .observed_view import ObservedDay, no_realtime
from .texts import FORMATTER, Text, tr


def iso_date(date: str) -> str:
    """A GTFS date (YYYYMMDD) as the book writes dates (YYYY-MM-DD)."""
    return f"{date[:4]}-{date[4:6]}-{date[6:]}" if len(date) == 8 and date.isdigit() else date


def capture_text(obs: ObservedDay) -> str:
    """When the positions were captured (local date, snapshot times, time zone), in the language in force."""
    times = sorted(set(obs.fleet["time"])) if len(obs.fleet) else []
    return tr("{date} at {times} ({timezone})", date=iso_date(obs.capture_date), times=", ".join(times),
              timezone=obs.city.profile.timezone)


#: The source line of the chapter by the network's data status (catalog messages).
SOURCE_LINES = {
    "illustrative": N_("vehicle positions: {source}; schedule: {city} GTFS ({file}), service day {date}; the network "
                       "is illustrative sample data"),
    "reconstructed": N_("vehicle positions: {source}; schedule: {city} GTFS ({file}), service day {date}; network "
                        "data status: reconstructed"),
    "official": N_("vehicle positions: {source}; schedule: {city} GTFS ({file}), service day {date}; network data "
                   "status: official"),
}

#: What the chapter rests on, by the network's data status (catalog messages).
STATUS_SENTENCES = {
    "illustrative": N_("{n:,} vehicle positions captured {captured} are compared with an illustrative sample network "
                       "(not the operator's schedule), so matching, speeds and the schedule comparison describe the "
                       "method, not the real city. Service day compared: {date} ({note})."),
    "reconstructed": N_("{n:,} vehicle positions captured {captured} are compared with the city's GTFS feed "
                        "(reconstructed data). Service day compared: {date} ({note})."),
    "official": N_("{n:,} vehicle positions captured {captured} are compared with the city's GTFS feed (official "
                   "data). Service day compared: {date} ({note})."),
}


def source_line(obs: ObservedDay) -> str:
    """Where the figures come from: the positions, the schedule, and the network's data status."""
    city = obs.city
    spec = city.profile.realtime
    return tr(SOURCE_LINES.get(city.status, SOURCE_LINES["official"]),
              source=spec.source or tr("realtime inputs of city.yml"), city=city.name, file=city.gtfs_path.name,
              date=iso_date(obs.date))


def status_sentence(city, obs: ObservedDay | None, problem: str = "") -> str:
    """One plain sentence on what this page rests on (or why it is empty)."""
    if obs is None:
        return str(problem) if problem else no_realtime(city)
    return tr(STATUS_SENTENCES.get(city.status, STATUS_SENTENCES["official"]), n=len(obs.positions),
              captured=capture_text(obs), date=iso_date(obs.date), note=obs.date_note)


#: Where the route-direction lines come from (:func:`citybridge.observed.route_shapes`), as readers see it.
LINE_SOURCES = {"shapes.txt": N_("{n:,} from shapes.txt"), "stops": N_("{n:,} from stops")}


def matching_sentence(obs: ObservedDay) -> str:
    """Share of positions matched to the network, and where the lines come from."""
    p = obs.positions
    src = obs.lines["source"].value_counts()
    how = ", ".join(tr(LINE_SOURCES[k], n=n) if k in LINE_SOURCES else tr("{n:,} from {source}", n=n, source=k)
                    for k, n in src.items()) or tr("none")
    return tr("{share:.1f}% of the {n:,} positions lie within {distance:.0f} m of one of the {lines:,} "
              "route-direction lines ({how}); matching uses geometry only, never the service codes carried by "
              "the positions.", share=100 * p["matched"].mean(), n=len(p),
              distance=obs.settings["match_distance_m"], lines=len(obs.lines), how=how)


def speed_sentence(obs: ObservedDay) -> str:
    """Observed against scheduled speed on the segments with both."""
    seg = obs.segments.dropna(subset=["scheduled_kmh"])
    if seg.empty:
        return tr("No street segment has both observed moves and a scheduled run at the capture's hours, so "
                  "observed and scheduled speeds cannot be compared here.")
    return tr("{moves:,} moves between consecutive fresh fixes give observed speeds on {segments:,} segments that "
              "also have scheduled runs in the same hour: median observed {observed:.1f} km/h against median "
              "scheduled {scheduled:.1f} km/h; {slow:.0f}% of these segments run below 80% of their scheduled "
              "speed.", moves=len(obs.moves), segments=len(seg), observed=seg["observed_kmh"].median(),
              scheduled=seg["scheduled_kmh"].median(), slow=100 * (seg["ratio"] < 0.8).mean())


def bunching_sentence(obs: ObservedDay) -> str:
    """Bunched pairs per snapshot."""
    n = obs.bunching.groupby("snapshot_ts").size()
    d = obs.settings["bunch_distance_m"]
    if obs.positions["route_id"].astype(str).str.strip().eq("").all():
        return tr("The positions carry no route or service code, so buses of the same service cannot be paired.")
    if n.empty:
        return tr("No two moving buses of the same service and direction were closer than {distance:.0f} m.",
                  distance=d)
    snaps = int(obs.fleet["snapshot_ts"].nunique())
    text = ngettext("{pairs:,} bunched pairs in {snapshots:,} snapshot (between {low:,} and {high:,} per "
                    "snapshot): moving buses of the same service and direction less than {distance:.0f} m apart, "
                    "by the service code the feed carries.",
                    "{pairs:,} bunched pairs in {snapshots:,} snapshots (between {low:,} and {high:,} per "
                    "snapshot): moving buses of the same service and direction less than {distance:.0f} m apart, "
                    "by the service code the feed carries.", snaps)
    return FORMATTER.format(text, pairs=len(obs.bunching), snapshots=snaps, low=int(n.min()), high=int(n.max()),
                            distance=d)


#: Column names of the corridor tables (English catalog messages: translated as table headers).
CORRIDOR_COLUMNS = {"shape_key": N_("route|direction"), "from_stop_id": N_("from"), "to_stop_id": N_("to"),
                    "length_m": N_("length (m)"), "moves": N_("moves"), "observed_kmh": N_("observed (km/h)"),
                    "scheduled_kmh": N_("scheduled (km/h)"), "ratio": N_("observed ÷ scheduled")}


def corridor_tables(obs: ObservedDay, *, n: int = 15) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The slowest segments as observed, and the slowest as scheduled, among segments with both.

    Returns two tables with ``route|direction``, ``from``, ``to`` (stop
    ids), ``length (m)``, ``moves``, ``observed (km/h)``, ``scheduled
    (km/h)``, ``observed ÷ scheduled``.
    """
    seg = obs.segments.dropna(subset=["scheduled_kmh"])
    names = CORRIDOR_COLUMNS
    obs_slow = O.slowest_segments(seg, n=n)[list(names)].rename(columns=names)
    sch_slow = seg[(seg["length_m"] >= 150) & (seg["moves"] >= 3)].nsmallest(n, "scheduled_kmh")[list(names)].rename(columns=names)
    return obs_slow, sch_slow


def fleet_table(obs: ObservedDay) -> pd.DataFrame:
    """The fleet table with readable column names (catalog messages: translated as table headers)."""
    return obs.fleet.drop(columns="snapshot_ts").rename(columns={
        "time": N_("snapshot"), "seen": N_("vehicles seen"), "fresh": N_("with a fresh fix"),
        "on_network": N_("fresh, on the network"), "scheduled": N_("trips scheduled"),
        "seen_per_scheduled": N_("seen ÷ scheduled"), "moving": N_("moving (%)"), "at_stop": N_("at a stop (%)"),
        "stopped_elsewhere": N_("stopped elsewhere (%)")})


def bunching_table(obs: ObservedDay) -> pd.DataFrame:
    """Bunched pairs with local snapshot times (column names are catalog messages)."""
    t = obs.fleet.drop_duplicates("snapshot_ts").set_index("snapshot_ts")["time"]
    b = obs.bunching
    return pd.DataFrame({N_("snapshot"): b["snapshot_ts"].map(t), N_("service"): b["service"],
                         N_("direction"): b["direction_id"], N_("bus"): b["vehicle_a"],
                         N_("other bus"): b["vehicle_b"], N_("apart (m)"): b["distance_m"].round(0)})


def quality_table(obs: ObservedDay) -> pd.DataFrame:
    """:func:`citybridge.observed.data_quality` of the chapter with its definitions as
    :class:`~citybridge.texts.Text` (shown in the language in force).

    Returns
    -------
    DataFrame
        ``indicator`` (catalog message), ``value`` (in ``unit``), ``unit``
        (catalog message), ``definition`` (:class:`~citybridge.texts.Text`).
    """
    s = obs.settings
    return obs.quality.assign(definition=[Text(O.QUALITY_DEFINITIONS[i], minutes=s["stale_after_s"] / 60,
                                               distance=s["match_distance_m"]) for i in obs.quality["indicator"]])


def punctuality_sentence(obs: ObservedDay) -> str:
    """Punctuality and headway regularity, or why they cannot be computed."""
    if obs.events.empty:
        return tr("The positions carry no trip id of the GTFS and there are no TripUpdates, so punctuality and "
                  "headway regularity cannot be computed. A feed whose VehiclePositions name the GTFS trip "
                  "(trip_id) and the stop they are stopped at, or a TripUpdates feed, unlocks them.")
    p = obs.punctuality.set_index("class")
    h = obs.headways
    values = dict(arrivals=int(p["arrivals"].sum()), on_time=p.loc["on time", "share"], early=P.EARLY_S / 60,
                  late=P.LATE_S / 60, late_share=p.loc["late", "share"], early_share=p.loc["early", "share"],
                  delay=p["median_delay_s"].iloc[0] / 60)
    if len(h):
        return tr("{arrivals:,} observed arrivals: {on_time:.0f}% on time ({early:.0f} min early to {late:.0f} min "
                  "late), {late_share:.0f}% late, {early_share:.0f}% early; median delay {delay:.1f} min. Headways at "
                  "{stops:,} stops have a median coefficient of variation of {cv:.2f} (0 is perfectly regular).",
                  stops=len(h), cv=h["cv"].median(), **values)
    return tr("{arrivals:,} observed arrivals: {on_time:.0f}% on time ({early:.0f} min early to {late:.0f} min "
              "late), {late_share:.0f}% late, {early_share:.0f}% early; median delay {delay:.1f} min.", **values)
