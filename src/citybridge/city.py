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
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

# The profile's model lives in city_profile; every name stays importable from here.
from .city_profile import (DATA_STATUSES, DEFAULT_PERIODS, FLEET_EUROS, FLEET_SHARE_TOLERANCE,  # noqa: F401
                           AvlSpec, BoundariesSpec, CityProfile, Fact, FleetClass, FleetEntry, Parameters,
                           PopulationSpec, PublishedValue, RealtimeSpec, SourcedValue)
from .errors import ProfileError
from .texts import tr
from .phrases import register_prose

#: Environment variable that points at another ``data/cities`` folder.
CITIES_ENV = "CITYBRIDGE_CITIES"
#: A city's folder name: lower case, starting with a letter, at most 40 characters.
SLUG_RE = re.compile(r"\A[a-z][a-z0-9_-]{0,39}\Z")


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
        register_prose(profile)  # stored phrases quoting the city's prose show it translated

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

    def text(self, field: str) -> str:
        """A prose field of ``city.yml`` (``data_assumptions``…) in the language in force:
        its ``translations`` entry when the profile has one, else as written."""
        from .i18n import current_language

        own = self.profile.translations.get(current_language(), {}).get(field)
        return own if own else str(getattr(self.profile, field) or "")

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
    lines = [f"{path}: " + tr("the profile is not valid ({n} problem(s)):", n=exc.error_count())]
    errors = exc.errors()
    for err in errors[:_MAX_LISTED]:
        loc = ".".join(str(x)[:60] for x in err["loc"]) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = tr("key '{key}' is not a known setting; remove it or check its spelling", key=loc)
        elif kind == "missing":
            msg = tr("key '{key}' is required; add it", key=loc)
        else:
            got = err.get("input")
            msg = (tr("key '{key}': {problem}", key=loc, problem=err["msg"]) if isinstance(got, dict) else
                   tr("key '{key}': {problem} (got {value})", key=loc, problem=err["msg"], value=_short_repr(got)))
        lines.append(f"  - {msg}")
    if len(errors) > _MAX_LISTED:
        lines.append("  - " + tr("… and {n} more; fix the ones above first", n=len(errors) - _MAX_LISTED))
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
                None, None, tr("nested more than {limit} levels deep (a city profile needs at most 4); remove the "
                               "extra levels", limit=MAX_PROFILE_DEPTH), mark)
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
                    err = yaml.constructor.ConstructorError(
                        None, None, tr("key '{key}' is given twice (first on line {line}); keep one of them",
                                       key=str(key)[:60], line=seen[key]), key_node.start_mark)
                    err.duplicate_key = True
                    raise err
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
        raise ProfileError(f"{path}: " + tr("file not found; every city folder needs a city.yml (run "
                                            "'citybridge new-city' to create one)"))
    if path.stat().st_size > MAX_PROFILE_BYTES:
        raise ProfileError(f"{path}: " + tr("{size:,} bytes is far too large for a city profile (limit {limit:,}); "
                                            "a city.yml holds settings only, not data", size=path.stat().st_size,
                                            limit=MAX_PROFILE_BYTES))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: " + tr("not UTF-8 text (byte {byte}); save it as UTF-8",
                                            byte=exc.start)) from None
    try:
        raw = _parse_yaml(text)
    except RecursionError:
        raise ProfileError(f"{path}: " + tr("nested too deeply to read (a city profile needs at most 4 levels); "
                                            "remove the extra levels")) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        if getattr(exc, "duplicate_key", False):
            line = f", line {mark.line + 1}" if mark else ""
            raise ProfileError(f"{path}{line}: {exc.problem}") from None
        line = f", line {mark.line + 1}" if mark else ""
        m = re.search(r"tag '([^']*)'", str(getattr(exc, "problem", "")))
        tag = (m.group(1) if m else "").replace("tag:yaml.org,2002:", "!!")
        raise ProfileError(f"{path}{line}: " + tr("YAML tags such as '{tag}' are refused (a tag can make a program "
                                                  "run code); write plain values only", tag=tag[:80])) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        raise ProfileError(f"{path}{line}: " + tr("not valid YAML ({problem}); check indentation and colons",
                                                  problem=str(getattr(exc, "problem", exc)))) from None
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: " + tr("expected a mapping of settings (key: value), got {kind}",
                                            kind=type(raw).__name__))
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
            known = ", ".join(list_cities(base)) or tr("none")
            raise ProfileError(f"{folder}: " + tr("no such city folder (cities present: {known}); create one with "
                                                  "'citybridge new-city'", known=known))
    profile = read_profile(folder / "city.yml")
    city = City(folder.name, folder, profile)
    if check_files:
        missing = []
        if not city.gtfs_path.is_file():
            missing.append(f"{city.gtfs_path}: " + tr("the GTFS feed named by 'gtfs' is missing; put the feed's zip "
                                                      "there or correct 'gtfs' in city.yml"))
        for kind in ("boundaries", "population", "gbfs"):
            q = city.optional_path(kind)  # type: ignore[arg-type]
            if q is not None and not q.exists():
                missing.append(f"{q}: " + tr("the file named by '{kind}' is missing; add it or remove '{kind}' from "
                                             "city.yml", kind=kind))
        if missing:
            raise ProfileError("\n".join(missing))
    return city
