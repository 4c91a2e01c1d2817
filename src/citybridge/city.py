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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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

SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_TIME_RE = re.compile(r"^\d{1,2}:\d{2}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourcedValue(_Strict):
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

    @field_validator("year", mode="before")
    @classmethod
    def _year_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class FleetEntry(_Strict):
    """Vehicles of one mode and energy type, with the source of the count."""

    mode: Literal["bus", "metro", "ferry", "tram", "rail", "other"]
    energy: Literal["diesel", "electric", "other"]
    vehicles: int = Field(ge=0)
    year: str
    source: str
    note: str = ""

    @field_validator("year", mode="before")
    @classmethod
    def _year_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class Fact(_Strict):
    """A key figure for the city's context page."""

    metric: str
    value: float
    unit: str
    year: str
    source: str

    @field_validator("year", mode="before")
    @classmethod
    def _year_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class PublishedValue(_Strict):
    """A value the city itself publishes for one of its KPIs (shown beside the computed one).

    ``kpi`` is the KPI's name as on the board (e.g. ``"bus-km per weekday"``).
    """

    kpi: str
    value: float
    unit: str = ""
    year: str
    source: str
    note: str = ""

    @field_validator("year", mode="before")
    @classmethod
    def _year_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


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


class PopulationSpec(_Strict):
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

    @field_validator("year", mode="before")
    @classmethod
    def _year_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


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
    parameters: Parameters = Field(default_factory=Parameters)
    facts: list[Fact] = Field(default_factory=list)
    published: list[PublishedValue] = Field(default_factory=list)
    download: dict[str, str] | None = None
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
        if self.profile.data_status:
            return self.profile.data_status
        return "illustrative" if self.profile.sample else "official"

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


def project_root() -> Path:
    """The project folder: the nearest parent of the working directory with
    ``data/cities``, else the checkout this package was installed from."""
    here = Path.cwd().resolve()
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
        raw = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
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
