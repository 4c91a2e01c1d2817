"""The city profile (``city.yml``) as a validated model: every section and its checks.

:class:`CityProfile` is the contents of ``city.yml``: data status, inputs
(boundaries, population, bike share, realtime), periods, fleet classes,
parameters, scenarios and published reference values. Reading the file and
finding cities is :mod:`citybridge.city`, which re-exports every name here.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .periods import DEFAULT_PERIODS, hhmm_to_seconds
from .texts import tr


#: ``DEFAULT_PERIODS`` (the default analysis periods) is defined in
#: :mod:`citybridge.periods`, the one place for periods of the day.


_TIME_RE = re.compile(r"\A\d{1,2}:\d{2}\Z")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Dated(_Strict):
    """A record with a ``year`` (an as-of date); a year written as a bare number is read as text."""

    @field_validator("year", mode="before", check_fields=False)
    @classmethod
    def _year_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class SourcedValue(_Dated):
    """A parameter with its value, unit, year and source.

    ``solid`` is False where no solid (official or primary) source exists;
    chapters then show a warning next to every figure that uses it.
    """

    value: float
    unit: str
    year: str
    source: str
    solid: bool = True
    note: str = ""


class FleetEntry(_Dated):
    """Vehicles of one mode and energy type, with the source of the count."""

    mode: Literal["bus", "metro", "ferry", "tram", "rail", "other"]
    energy: Literal["diesel", "electric", "other"]
    vehicles: int = Field(ge=0)
    year: str
    source: str
    note: str = ""


#: Euro classes a fleet class may name, per fuel (those with EMEP/EEA functions).
FLEET_EUROS = {"electric": ("none",), "diesel": ("III", "IV", "V", "VI"), "cng": ("III", "EEV"),
               "lng": ("III", "EEV"), "hybrid": ("III", "IV", "V", "VI")}


#: Technologies per (fuel, Euro class); the first is the default.
_FLEET_TECHS = {("diesel", "IV"): ("SCR", "EGR"), ("diesel", "V"): ("SCR", "EGR"), ("diesel", "VI"): ("DPF+SCR",),
                ("hybrid", "IV"): ("SCR", "EGR"), ("hybrid", "V"): ("SCR", "EGR"), ("hybrid", "VI"): ("DPF+SCR",)}


#: How far the shares of ``fleet_classes`` may stray from 100 % (rounding), in percentage points.
FLEET_SHARE_TOLERANCE = 0.5


class FleetClass(_Dated):
    """One class of the bus fleet for the air-pollutant estimates (chapter 05).

    ``share`` is the class's share of bus vehicle-km (%). Each class names
    its ``source`` and ``year``, or is flagged ``assumed: true`` with a
    ``note`` saying what is assumed (and ``share_range``, the low and high
    share the assumption spans, when the share itself is assumed).
    """

    fuel: Literal["electric", "diesel", "cng", "lng", "hybrid"]
    euro: Literal["none", "III", "IV", "V", "VI", "EEV"] = "none"
    technology: Literal["", "SCR", "EGR", "DPF+SCR"] = ""
    size: Literal["midi", "standard", "articulated"] = "standard"
    share: float = Field(ge=0, le=100)
    share_range: tuple[float, float] | None = None
    year: str
    source: str = ""
    assumed: bool = False
    note: str = ""

    @field_validator("euro", mode="before")
    @classmethod
    def _euro_to_str(cls, v: Any) -> Any:
        return str(v).upper() if isinstance(v, (int, str)) and str(v).lower() not in ("none", "") else "none"

    @model_validator(mode="after")
    def _consistent(self) -> "FleetClass":
        allowed = FLEET_EUROS[self.fuel]
        if self.euro not in allowed:
            raise ValueError(tr("a {fuel} class takes euro {allowed} (got {euro}); these are the classes with "
                                "EMEP/EEA emission functions", fuel=self.fuel, allowed=" or ".join(allowed),
                                euro=self.euro))
        techs = _FLEET_TECHS.get((self.fuel, self.euro), ("",))
        if self.technology and self.technology not in techs:
            named = " or ".join(t for t in techs if t)
            raise ValueError(tr("a {fuel} Euro {euro} class takes technology {techs} (got {got})", fuel=self.fuel,
                                euro=self.euro, techs=named, got=self.technology) if named else
                             tr("a {fuel} Euro {euro} class takes technology none (leave it out) (got {got})",
                                fuel=self.fuel, euro=self.euro, got=self.technology))
        if self.fuel in ("cng", "lng", "hybrid") and self.size != "standard":
            raise ValueError(tr("EMEP/EEA gives {fuel} bus functions for the standard (12 m) size only; write "
                                "size: standard", fuel=self.fuel))
        if not self.source.strip() and not self.assumed:
            raise ValueError(tr("give the class's 'source' (where the share comes from), or set 'assumed: true' "
                                "and say in 'note' what is assumed"))
        if self.share_range is not None:
            lo, hi = self.share_range
            if not 0 <= lo <= self.share <= hi <= 100:
                raise ValueError(tr("share_range [{lo}, {hi}] must run from 0 to 100 and contain the share "
                                    "({share})", lo=str(lo), hi=str(hi), share=str(self.share)))
        return self

    @property
    def emep_technology(self) -> str:
        """The technology whose EMEP/EEA functions apply (``technology``, or the default for the Euro class)."""
        return self.technology or _FLEET_TECHS.get((self.fuel, self.euro), ("",))[0]

    @property
    def label(self) -> str:
        """A readable name such as ``diesel Euro V (SCR), standard``."""
        if self.fuel == "electric":
            return f"electric, {self.size}"
        tech = f" ({self.emep_technology})" if self.emep_technology else ""
        euro = "EEV" if self.euro == "EEV" else f"Euro {self.euro}"
        return f"{self.fuel} {euro}{tech}, {self.size}"


class Fact(_Dated):
    """A key figure for the city's context page."""

    metric: str
    value: float
    unit: str
    year: str
    source: str


class PublishedValue(_Dated):
    """A value the city itself publishes for one of its KPIs (shown beside the computed one).

    ``kpi`` is the KPI's name as on the board (e.g. ``"bus-km per weekday"``).
    """

    kpi: str
    value: float
    unit: str = ""
    year: str
    source: str
    note: str = ""


#: The three data statuses, with the sentence that explains each.
DATA_STATUSES: dict[str, str] = {
    "official": "the operator's feed as published",
    "reconstructed": "rebuilt from the operator's official data, with stated assumptions",
    "illustrative": "teaching data built from public facts; it does not describe the real city",
}


def _inside_folder(v: str | None) -> str | None:
    """A file named in city.yml must lie inside the city folder."""
    if v is None:
        return v
    p = PurePosixPath(str(v).replace("\\", "/"))
    if str(v).strip() == "" or p.is_absolute() or ".." in p.parts or re.match(r"^[A-Za-z]:", str(v)):
        raise ValueError(tr("name a file inside the city folder (a plain relative name such as gtfs.zip, no "
                            "absolute path and no '..')"))
    return v


class BoundariesSpec(_Strict):
    """Administrative polygons (comunas, districts) as GeoJSON or any OGR file."""

    file: str
    id_column: str = "district_id"
    name_column: str = "name"
    attribution: str = ""

    _file_inside = field_validator("file")(classmethod(lambda cls, v: _inside_folder(v)))


class PopulationSpec(_Dated):
    """Population per boundary polygon, joined on ``id_column``.

    ``class_column`` holds ``urban`` or ``rural`` for each polygon; ``layer``
    optionally names a finer population layer (polygons or points with a
    ``population`` column) that replaces areal weighting.
    """

    file: str
    id_column: str = "district_id"
    population_column: str = "population"
    class_column: str | None = "area_class"
    year: str = ""
    source: str = ""
    class_rule: str = ""
    layer: str | None = None

    _file_inside = field_validator("file", "layer")(classmethod(lambda cls, v: _inside_folder(v)))


class AvlSpec(_Strict):
    """An automatic vehicle location (AVL) table: CSV or Parquet, one row per fix.

    ``columns`` maps the standard names (``time``, ``vehicle``, ``lat``,
    ``lon`` required; ``route``, ``trip``, ``direction``, ``speed_kmh``,
    ``status``, ``fix_age_s``, ``fix_age_min`` optional) to the table's own
    column names. ``timezone`` applies to times written without an offset.
    ``status_at_stop`` lists the ``status`` values meaning "stopped at a stop".
    ``direction_values`` maps the table's direction codes to GTFS 0/1.
    """

    file: str
    columns: dict[str, str] = Field(default_factory=dict)
    timezone: str | None = None
    status_at_stop: list[str] = Field(default_factory=list)
    direction_values: dict[str, int] = Field(default_factory=dict)
    source: str = ""

    _file_inside = field_validator("file")(classmethod(lambda cls, v: _inside_folder(v)))


class RealtimeSpec(_Strict):
    """Observed operations: GTFS-Realtime snapshots and/or an AVL table.

    ``vehicle_positions`` and ``trip_updates`` name folders (or single
    files) of GTFS-Realtime protobuf snapshots (``*.pb``). ``route_ids`` says
    whether the route ids carried by the snapshots are the GTFS feed's
    (``gtfs``) or the operator's internal service codes (``operator``: used
    only to group buses of one service, never to join to the GTFS).
    """

    vehicle_positions: str | None = None
    trip_updates: str | None = None
    avl: AvlSpec | None = None
    route_ids: Literal["gtfs", "operator"] = "gtfs"
    mode: str = "bus"
    source: str = ""

    _files_inside = field_validator("vehicle_positions", "trip_updates")(
        classmethod(lambda cls, v: _inside_folder(v)))


class Parameters(_Strict):
    """Emission parameters, each a :class:`SourcedValue`."""

    grid_kgco2_per_kwh: SourcedValue | None = None
    diesel_kgco2_per_litre: SourcedValue | None = None
    diesel_bus_litres_per_100km: SourcedValue | None = None
    ebus_kwh_per_km: SourcedValue | None = None
    car_kgco2_per_km: SourcedValue | None = None


#: Fields of ``city.yml`` written in prose, which ``translations`` may give in other languages.
TRANSLATABLE = ("data_source", "data_assumptions", "coverage_gaps", "notes")


class CityProfile(_Strict):
    """The contents of ``city.yml``."""

    name: str
    name_local: str = ""
    country: str = ""
    timezone: str = "UTC"
    crs: str = Field(description="local metric CRS, e.g. EPSG:32719")
    source_datum: Literal["WGS84", "GCJ02", "BD09"] = "WGS84"
    sample: bool = False
    data_status: Literal["official", "reconstructed", "illustrative"] | None = None
    data_source: str = ""
    data_assumptions: str = ""
    coverage_gaps: str = ""
    gtfs: str = "gtfs.zip"
    boundaries: BoundariesSpec | None = None
    population: PopulationSpec | None = None
    gbfs: str | None = None
    periods: dict[str, tuple[str, str]] = Field(default_factory=lambda: dict(DEFAULT_PERIODS))
    fleet: list[FleetEntry] = Field(default_factory=list)
    fleet_classes: list[FleetClass] | None = None
    parameters: Parameters = Field(default_factory=Parameters)
    facts: list[Fact] = Field(default_factory=list)
    published: list[PublishedValue] = Field(default_factory=list)
    download: dict[str, str] | None = None
    realtime: RealtimeSpec | None = None
    #: Named disruption scenarios for chapter 09 (resilience), each a mapping
    #: with ``name`` and any of ``stops``, ``routes``, ``segments``
    #: (``{route, from, to}``), ``polygon`` (GeoJSON, WGS-84) and ``window``
    #: (``["HH:MM", "HH:MM"]``). Checked by :mod:`citybridge.resilience`, not
    #: here, so that one bad scenario never stops the city from loading.
    scenarios: list[dict[str, Any]] = Field(default_factory=list)
    #: Passengers per vehicle by mode (e.g. ``metro``: one train), with sources,
    #: for the bus-bridge estimate of chapter 09; absent modes are not estimated.
    vehicle_capacity: dict[str, SourcedValue] = Field(default_factory=dict)
    notes: str = ""
    #: The profile's prose in the book's other languages: ``{lang: {field: text}}``
    #: for ``data_source``, ``data_assumptions``, ``coverage_gaps`` and ``notes``
    #: (``translations: {es: {data_assumptions: "..."}}``); a field left out is
    #: shown as written above (see :meth:`citybridge.city.City.text`). Any other
    #: prose of the profile (scenario names and notes, parameter notes, the
    #: realtime source, facts) goes under ``phrases``: ``{English text: text}``,
    #: shown wherever the English text is (see :func:`citybridge.phrases.city_prose`).
    translations: dict[str, dict[str, str | dict[str, str]]] = Field(default_factory=dict)

    @field_validator("translations")
    @classmethod
    def _translations_ok(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from .i18n import LANGUAGES

        for lang, fields in v.items():
            if lang not in LANGUAGES:
                raise ValueError(tr("translations: {lang} is not a language of the workbook; use {codes}",
                                    lang=repr(lang), codes=", ".join(c for c in LANGUAGES if c != "en")))
            for field, text in fields.items():
                if (field == "phrases") != isinstance(text, dict):
                    raise ValueError(tr("translations.{lang}.{field}: write a text, or under 'phrases' a mapping "
                                        "of English text to its translation", lang=lang, field=field))
            bad = sorted(set(fields) - set(TRANSLATABLE) - {"phrases"})
            if bad:
                raise ValueError(tr("translations.{lang}: {fields} cannot be translated; translate only {allowed}",
                                    lang=lang, fields=", ".join(bad), allowed=", ".join(TRANSLATABLE)))
        return v

    @field_validator("crs")
    @classmethod
    def _crs_is_metric(cls, v: str) -> str:
        if not re.match(r"^EPSG:\d{4,5}$", v):
            raise ValueError(tr("write the CRS as EPSG:<code>, for example EPSG:32719"))
        return v

    @field_validator("periods")
    @classmethod
    def _periods_ok(cls, v: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        for name, (start, end) in v.items():
            for t in (start, end):
                if not _TIME_RE.match(t):
                    raise ValueError(tr("period '{name}': time '{time}' is not HH:MM", name=name, time=t))
            if hhmm_to_seconds(start) >= hhmm_to_seconds(end):
                raise ValueError(tr("period '{name}' ends ({end}) before it starts ({start})", name=name, end=end,
                                    start=start))
        return v

    @field_validator("fleet_classes")
    @classmethod
    def _shares_add_up(cls, v: list[FleetClass] | None) -> list[FleetClass] | None:
        if v is None:
            return v
        if not v:
            raise ValueError(tr("'fleet_classes' is empty: list the classes with their shares, or remove the key"))
        total = sum(c.share for c in v)
        if abs(total - 100) > FLEET_SHARE_TOLERANCE:
            shown = f"{total:g}"
            raise ValueError(tr("the shares of bus-km add up to {total} %, not 100 %: correct the 'share' of the "
                                "classes (an unknown remainder can be a class flagged 'assumed: true')",
                                total=shown))
        keys = [(c.fuel, c.euro, c.technology, c.size) for c in v]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(tr("each class may appear once; repeated: {classes}",
                                classes=", ".join(" ".join(x for x in k if x) for k in dup)))
        return v

    @field_validator("gtfs", "gbfs")
    @classmethod
    def _files_inside(cls, v: str | None) -> str | None:
        return _inside_folder(v)

    @field_validator("download", mode="before")
    @classmethod
    def _download_quoted(cls, v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("sha256"), (int, float)):
            raise ValueError(tr("'download.sha256' was read as a number: put the sha256 in quotes, e.g. "
                                "sha256: '0123...'"))
        return v

    @field_validator("download")
    @classmethod
    def _download_ok(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        if not {"url", "sha256"} <= set(v):
            raise ValueError(tr("'download' needs both 'url' and 'sha256'"))
        extra = set(v) - {"url", "sha256"}
        if extra:
            raise ValueError(tr("'download' takes only 'url' and 'sha256' (found {found})",
                                found=", ".join(sorted(extra))))
        if not re.match(r"^https?://[^\s/]", v["url"], re.I):
            raise ValueError(tr("'download.url' must be a web address starting with https:// (or http://)"))
        try:
            from urllib.parse import urlsplit

            urlsplit(v["url"]).port  # noqa: B018 - raises ValueError on a malformed host or port
        except ValueError as exc:
            raise ValueError(tr("'download.url' is not a valid web address ({reason})", reason=str(exc))) from None
        if not re.fullmatch(r"[0-9a-fA-F]{64}", v["sha256"].strip()):
            raise ValueError(tr("'download.sha256' must be the 64 hexadecimal digits of the feed's SHA-256 "
                                "(e.g. from 'sha256sum gtfs.zip')"))
        return v


def valid_timezone(tz: str) -> bool:
    """True when ``tz`` is an IANA time zone name known to this system (e.g. ``America/Santiago``)."""
    if not tz or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", tz):
        return False
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(tz)
        return True
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError, OSError
        return False
