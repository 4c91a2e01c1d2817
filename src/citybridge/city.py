"""The city profile (``city.yml``) as a validated model, and finding cities.

A city is a folder ``data/cities/<slug>/`` holding a ``city.yml`` profile and
the files it names. Only the GTFS feed is required; boundaries, population
and bike share unlock more chapters when present.

Example
-------
>>> from citybridge.city import load_city
>>> city = load_city("santiago")            # doctest: +SKIP
>>> city.gtfs_path                          # doctest: +SKIP
PosixPath('.../data/cities/santiago/gtfs.zip')
"""
from __future__ import annotations

import os
import re
import reprlib
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ProfileError

#: Environment variable that points at another ``data/cities`` folder.
CITIES_ENV = "CITYBRIDGE_CITIES"

#: Default analysis periods (local time, ``[start, end)``). A profile may
#: override them because peaks differ by city.
DEFAULT_PERIODS: dict[str, tuple[str, str]] = {
    "early": ("04:00", "07:00"),
    "am_peak": ("07:00", "09:00"),
    "midday": ("09:00", "17:00"),
    "pm_peak": ("17:00", "20:00"),
    "evening": ("20:00", "23:00"),
    "night": ("23:00", "28:00"),
}

SLUG_RE = re.compile(r"\A[a-z][a-z0-9_-]{0,39}\Z")
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
            raise ValueError(f"a {self.fuel} class takes euro {' or '.join(allowed)} (got {self.euro}); "
                             "these are the classes with EMEP/EEA emission functions")
        techs = _FLEET_TECHS.get((self.fuel, self.euro), ("",))
        if self.technology and self.technology not in techs:
            raise ValueError(f"a {self.fuel} Euro {self.euro} class takes technology "
                             f"{' or '.join(t for t in techs if t) or 'none (leave it out)'} (got {self.technology})")
        if self.fuel in ("cng", "lng", "hybrid") and self.size != "standard":
            raise ValueError(f"EMEP/EEA gives {self.fuel} bus functions for the standard (12 m) size only; "
                             "write size: standard")
        if not self.source.strip() and not self.assumed:
            raise ValueError("give the class's 'source' (where the share comes from), or set 'assumed: true' "
                             "and say in 'note' what is assumed")
        if self.share_range is not None:
            lo, hi = self.share_range
            if not 0 <= lo <= self.share <= hi <= 100:
                raise ValueError(f"share_range [{lo}, {hi}] must run from 0 to 100 and contain the share "
                                 f"({self.share})")
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
        raise ValueError("name a file inside the city folder (a plain relative name such as "
                         "gtfs.zip, no absolute path and no '..')")
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

    @field_validator("crs")
    @classmethod
    def _crs_is_metric(cls, v: str) -> str:
        if not re.match(r"^EPSG:\d{4,5}$", v):
            raise ValueError("write the CRS as EPSG:<code>, for example EPSG:32719")
        return v

    @field_validator("periods")
    @classmethod
    def _periods_ok(cls, v: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        for name, (start, end) in v.items():
            for t in (start, end):
                if not _TIME_RE.match(t):
                    raise ValueError(f"period '{name}': time '{t}' is not HH:MM")
            if _minutes(start) >= _minutes(end):
                raise ValueError(f"period '{name}' ends ({end}) before it starts ({start})")
        return v

    @field_validator("fleet_classes")
    @classmethod
    def _shares_add_up(cls, v: list[FleetClass] | None) -> list[FleetClass] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("'fleet_classes' is empty: list the classes with their shares, or remove the key")
        total = sum(c.share for c in v)
        if abs(total - 100) > FLEET_SHARE_TOLERANCE:
            raise ValueError(f"the shares of bus-km add up to {total:g} %, not 100 %: correct the 'share' of the "
                             "classes (an unknown remainder can be a class flagged 'assumed: true')")
        keys = [(c.fuel, c.euro, c.technology, c.size) for c in v]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError("each class may appear once; repeated: " + ", ".join(" ".join(x for x in k if x)
                                                                                 for k in dup))
        return v

    @field_validator("gtfs", "gbfs")
    @classmethod
    def _files_inside(cls, v: str | None) -> str | None:
        return _inside_folder(v)

    @field_validator("download", mode="before")
    @classmethod
    def _download_quoted(cls, v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("sha256"), (int, float)):
            raise ValueError("'download.sha256' was read as a number: put the sha256 in quotes, "
                             "e.g. sha256: '0123...'")
        return v

    @field_validator("download")
    @classmethod
    def _download_ok(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        if not {"url", "sha256"} <= set(v):
            raise ValueError("'download' needs both 'url' and 'sha256'")
        extra = set(v) - {"url", "sha256"}
        if extra:
            raise ValueError(f"'download' takes only 'url' and 'sha256' (found {', '.join(sorted(extra))})")
        if not re.match(r"^https?://[^\s/]", v["url"], re.I):
            raise ValueError("'download.url' must be a web address starting with https:// (or http://)")
        try:
            from urllib.parse import urlsplit

            urlsplit(v["url"]).port  # noqa: B018 - raises ValueError on a malformed host or port
        except ValueError as exc:
            raise ValueError(f"'download.url' is not a valid web address ({exc})") from None
        if not re.fullmatch(r"[0-9a-fA-F]{64}", v["sha256"].strip()):
            raise ValueError("'download.sha256' must be the 64 hexadecimal digits of the feed's SHA-256 "
                             "(e.g. from 'sha256sum gtfs.zip')")
        return v
        if not {"url", "sha256"} <= set(self.download):
            raise ValueError("'download' needs both 'url' and 'sha256'")
        extra = set(self.download) - {"url", "sha256"}
        if extra:
            raise ValueError(f"'download' takes only 'url' and 'sha256' (found {', '.join(sorted(extra))})")
        if not re.match(r"^https?://", self.download["url"], re.I):
            raise ValueError("'download.url' must start with https:// (or http://)")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", self.download["sha256"].strip()):
            raise ValueError("'download.sha256' must be the 64 hexadecimal digits of the feed's SHA-256 "
                             "(e.g. from 'sha256sum gtfs.zip')")
        return self


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class City:
    """A city folder with its validated profile.

    Attributes
    ----------
    slug : str
        The folder name, used in URLs and file names.
    folder : Path
        The city folder.
    profile : CityProfile
        The validated ``city.yml``.
    """

    def __init__(self, slug: str, folder: Path, profile: CityProfile):
        self.slug = slug
        self.folder = folder
        self.profile = profile

    def __repr__(self) -> str:
        return f"City({self.slug!r}, status={self.status})"

    @property
    def status(self) -> str:
        """``official``, ``reconstructed`` or ``illustrative``.

        A profile without ``data_status`` is ``illustrative`` when it says
        ``sample: true`` and ``official`` otherwise (a trainer's own feed).
        """
        if self.profile.data_status == "reconstructed" and self.has_official_download():
            return "official"
        if self.profile.data_status:
            return self.profile.data_status
        return "illustrative" if self.profile.sample else "official"

    def has_official_download(self) -> bool:
        """True when ``gtfs`` is the very file named by ``download`` (its sha256 matches).

        After ``citybridge fetch``, a reconstructed city holds the operator's
        feed as published, so its status becomes ``official``.
        """
        d = self.profile.download
        p = self.gtfs_path
        if not d or not p.is_file():
            return False
        st = p.stat()
        key = (str(p), st.st_size, st.st_mtime_ns)
        if getattr(self, "_sha_key", None) != key:
            import hashlib

            h = hashlib.sha256()
            with p.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            self._sha_key, self._sha = key, h.hexdigest()
        return self._sha == d["sha256"].strip().lower()

    @property
    def comparable(self) -> bool:
        """True where lessons may be drawn from the city's figures (official or reconstructed)."""
        return self.status in ("official", "reconstructed")

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def gtfs_path(self) -> Path:
        return self.folder / self.profile.gtfs

    def optional_path(self, kind: Literal["boundaries", "population", "gbfs"]) -> Path | None:
        """The path of an optional input, or None when the profile has none."""
        spec = getattr(self.profile, kind)
        if spec is None:
            return None
        rel = spec if isinstance(spec, str) else spec.file
        return self.folder / rel

    def data_files(self) -> list[Path]:
        """Every file in the city folder, sorted (used for cache keys)."""
        return sorted(p for p in self.folder.rglob("*") if p.is_file())

    @property
    def periods(self) -> dict[str, tuple[str, str]]:
        return dict(self.profile.periods)


def project_root(start: Path | None = None) -> Path:
    """The project folder: the nearest parent of ``start`` (default: the working
    directory) with ``data/cities``, else the checkout this package was installed from."""
    here = Path(start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "data" / "cities").is_dir():
            return p
    pkg = Path(__file__).resolve().parents[2]
    return pkg


def cities_dir() -> Path:
    """The folder holding one sub-folder per city."""
    env = os.environ.get(CITIES_ENV)
    if env:
        return Path(env).resolve()
    return project_root() / "data" / "cities"


def list_cities(root: Path | None = None) -> list[str]:
    """Slugs of every folder in ``root`` that holds a ``city.yml``, sorted.

    Hidden folders (a name starting with ``.``, such as the temporary folder
    of an unfinished ``citybridge new-city``) are not cities.
    """
    root = Path(root) if root is not None else cities_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / "city.yml").is_file())


_MAX_LISTED = 20
#: A city.yml larger than this is refused (profiles are a few kilobytes).
MAX_PROFILE_BYTES = 1024 * 1024

_REPR = reprlib.Repr()
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 2


def _short_repr(value: Any) -> str:
    """A bounded repr: a hostile profile (deeply nested aliases) cannot blow up a message."""
    return _REPR.repr(value)


def _format_validation(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: the profile is not valid ({exc.error_count()} problem(s)):"]
    errors = exc.errors()
    for err in errors[:_MAX_LISTED]:
        loc = ".".join(str(x)[:60] for x in err["loc"]) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = f"key '{loc}' is not a known setting; remove it or check its spelling"
        elif kind == "missing":
            msg = f"key '{loc}' is required; add it"
        else:
            got = err.get("input")
            got_s = "" if isinstance(got, dict) else f" (got {_short_repr(got)})"
            msg = f"key '{loc}': {err['msg']}{got_s}"
        lines.append(f"  - {msg}")
    if len(errors) > _MAX_LISTED:
        lines.append(f"  - … and {len(errors) - _MAX_LISTED} more; fix the ones above first")
    return "\n".join(lines)


#: Deepest nesting of mappings and lists accepted in a city.yml (a profile needs 4).
MAX_PROFILE_DEPTH = 20


class _ProfileLoader(yaml.SafeLoader):
    """A safe YAML loader with YAML 1.2 scalars, no duplicate keys and a depth limit.

    YAML 1.1 reads ``7:00`` as the number 420 (base 60) and ``NO`` (Norway)
    as False; here only ``true``/``false`` are booleans and numbers are
    decimal, so times and country codes stay text. A key given twice and a
    document nested deeper than :data:`MAX_PROFILE_DEPTH` are refused.
    """

    def compose_node(self, parent, index):  # noqa: D102 - depth guard around PyYAML's composer
        depth = getattr(self, "_cb_depth", 0)
        if depth > MAX_PROFILE_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_PROFILE_DEPTH} levels deep (a city profile needs "
                "at most 4); remove the extra levels", mark)
        self._cb_depth = depth + 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._cb_depth = depth

    def construct_mapping(self, node, deep=False):  # noqa: D102 - duplicate-key guard
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key '{str(key)[:60]}' is given twice (first on line {seen[key]}); "
                        "keep one of them", key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
            except TypeError:
                continue
        return super().construct_mapping(node, deep=deep)


_ProfileLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _tag, _rx, _first in (
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
        ("tag:yaml.org,2002:float",
         r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
         "-+0123456789.")):
    _ProfileLoader.add_implicit_resolver(_tag, re.compile(_rx), list(_first))


def _parse_yaml(text: str) -> Any:
    """Parse profile text with :class:`_ProfileLoader` (its errors pass through)."""
    loader = _ProfileLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_profile(path: Path) -> CityProfile:
    """Read and validate one ``city.yml``.

    Raises
    ------
    ProfileError
        With one line per problem: YAML syntax (with line number), object-
        constructing tags (refused), unknown keys, missing keys, wrong types.
    """
    path = Path(path)
    if not path.is_file():
        raise ProfileError(f"{path}: file not found; every city folder needs a city.yml "
                           "(run 'citybridge new-city' to create one)")
    if path.stat().st_size > MAX_PROFILE_BYTES:
        raise ProfileError(f"{path}: {path.stat().st_size:,} bytes is far too large for a city profile "
                           f"(limit {MAX_PROFILE_BYTES:,}); a city.yml holds settings only, not data")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        raw = _parse_yaml(text)
    except RecursionError:
        raise ProfileError(f"{path}: nested too deeply to read (a city profile needs at most 4 levels); "
                           "remove the extra levels") from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        if "given twice" in str(getattr(exc, "problem", "")):
            line = f", line {mark.line + 1}" if mark else ""
            raise ProfileError(f"{path}{line}: {exc.problem}") from None
        line = f", line {mark.line + 1}" if mark else ""
        m = re.search(r"tag '([^']*)'", str(getattr(exc, "problem", "")))
        tag = (m.group(1) if m else "").replace("tag:yaml.org,2002:", "!!")
        raise ProfileError(f"{path}{line}: YAML tags such as '{tag[:80]}' are refused (a tag can make a "
                           "program run code); write plain values only") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        raise ProfileError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)}); "
                           "check indentation and colons") from None
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: expected a mapping of settings (key: value), "
                           f"got {type(raw).__name__}")
    try:
        return CityProfile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(_format_validation(path, exc)) from None


def load_city(slug_or_path: str | os.PathLike[str], *, root: Path | None = None,
              check_files: bool = True) -> City:
    """Load a city by slug (from ``data/cities``) or by folder path.

    Parameters
    ----------
    slug_or_path
        A slug such as ``"santiago"`` or a path to a city folder.
    root
        The cities folder; default :func:`cities_dir`.
    check_files
        Raise when a file the profile names is missing.

    Raises
    ------
    ProfileError
        The folder or profile is missing or invalid, or a named file is absent.
    """
    p = Path(slug_or_path)
    if p.is_dir():
        folder = p.resolve()
    else:
        base = Path(root) if root is not None else cities_dir()
        folder = base / str(slug_or_path)
        if not folder.is_dir():
            known = ", ".join(list_cities(base)) or "none"
            raise ProfileError(f"{folder}: no such city folder (cities present: {known}); "
                               "create one with 'citybridge new-city'")
    profile = read_profile(folder / "city.yml")
    city = City(folder.name, folder, profile)
    if check_files:
        missing = []
        if not city.gtfs_path.is_file():
            missing.append(f"{city.gtfs_path}: the GTFS feed named by 'gtfs' is missing; "
                           "put the feed's zip there or correct 'gtfs' in city.yml")
        for kind in ("boundaries", "population", "gbfs"):
            q = city.optional_path(kind)  # type: ignore[arg-type]
            if q is not None and not q.exists():
                missing.append(f"{q}: the file named by '{kind}' is missing; add it or "
                               f"remove '{kind}' from city.yml")
        if missing:
            raise ProfileError("\n".join(missing))
    return city
