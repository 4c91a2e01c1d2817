"""Plan the notebook runs of a build: which jobs, and the cache key of each.

One *job* is one notebook run for one city (or, for the cross-city notebooks
named ``compare*.ipynb``, once for all cities); :mod:`citybridge.runner`
executes them. Before the chapters, each city's KPI board is computed once,
in a worker process, and stored as a build artefact
(:mod:`citybridge.artifacts`).

Re-execution is skipped when nothing changed: a job's cache key hashes the
notebook, its parameters, the package source, the versions of Python and of
the libraries that shape the outputs, and the data files of the cities it
reads. A city chapter reads only its own city, so its key covers only that
city's folder (and, where the notebook's metadata declares them under
``{"citybridge": {"profiles": [...]}}``, those values of the other cities'
``city.yml``, e.g. the grid factors of chapter 05's scenario chart). The
comparison (``compare*``) covers every city it compares. Side-by-side
tables read the other cities' stored KPI boards, never their feeds, and the
build draws them again on every city page from the current boards after the
chapters ran (:func:`citybridge.session.refresh_pages`), so they are never
stale. Changing one city's data therefore re-runs that city's chapters and
the comparison, and nothing else.

Executed notebooks are kept in ``.citybridge-cache/<key>.ipynb``; a reused
notebook whose page already holds the same bytes is not rewritten, so the
book's incremental HTML build sees it unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .city import City, list_cities, load_city
from .errors import CitybridgeError
from .fetch import remove_stale_downloads

CACHE_DIR_NAME = ".citybridge-cache"


@dataclass
class Job:
    """One notebook execution."""

    notebook: str          # source notebook path
    output: str            # executed notebook path (in the book)
    parameters: dict
    city: str | None       # slug, None for cross-city notebooks
    key: str = ""          # cache key
    folder: str = ""       # the city's folder (city jobs)
    board: bool = False    # the notebook reads KPI boards (so the city's board is computed first)
    cities_root: str = ""  # the folder holding the cities

    @property
    def label(self) -> str:
        return f"{self.city or 'all cities'}: {Path(self.notebook).stem}"


@dataclass
class JobResult:
    job: Job
    ok: bool
    seconds: float
    cached: bool = False
    error: str = ""


@dataclass
class BoardResult:
    """One city's KPI board: computed (``seconds``), already stored (``cached``) or failed."""

    city: str
    ok: bool
    seconds: float
    cached: bool = False
    error: str = ""


@dataclass
class BuildReport:
    """What a build did: executed, reused and failed jobs, KPI boards, and skipped cities."""

    results: list[JobResult] = field(default_factory=list)
    city_errors: dict[str, str] = field(default_factory=dict)
    boards: list[BoardResult] = field(default_factory=list)

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    def to_json(self) -> str:
        return json.dumps({
            "results": [{**asdict(r.job), "ok": r.ok, "seconds": round(r.seconds, 2), "cached": r.cached,
                         "error": r.error} for r in self.results],
            "boards": [asdict(b) for b in self.boards],
            "city_errors": self.city_errors,
        }, indent=1, ensure_ascii=False)


def notebook_dir(root: Path) -> Path:
    return root / "notebooks"


def city_notebooks(root: Path, only: list[str] | None = None) -> list[Path]:
    """Source notebooks run once per city (``NN_name.ipynb``), sorted.

    ``only`` filters by number prefix or stem, e.g. ``["01", "03_access"]``.
    """
    nbs = sorted(p for p in notebook_dir(root).glob("[0-9][0-9]_*.ipynb"))
    if only:
        nbs = [p for p in nbs if any(p.stem == o or p.stem.split("_")[0] == o for o in only)]
    return nbs


def compare_notebooks(root: Path) -> list[Path]:
    """Source notebooks run once for all cities (``compare*.ipynb``)."""
    return sorted(notebook_dir(root).glob("compare*.ipynb"))


def is_temporary(p: Path) -> bool:
    """Files a city's chapters never read: hidden files (``.gtfs.zip.*.download``
    of an unfinished fetch, editor swap files), so they stay out of cache keys."""
    return p.name.startswith(".")


def hash_files(paths: list[Path], h, base: Path | None = None) -> None:
    """Feed names (relative to ``base`` when given) and contents into ``h``."""
    for p in paths:
        name = p.relative_to(base).as_posix() if base is not None else p.name
        h.update(name.encode() + b"\0")
        h.update(str(p.stat().st_size).encode() + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)


#: Libraries whose version can change what an executed notebook shows.
_KEY_LIBRARIES = ("pandas", "numpy", "pyarrow", "geopandas", "shapely", "pyproj", "gtfs-kit", "folium",
                  "branca", "plotly", "papermill", "nbformat", "nbclient", "ipykernel", "prcoords")


def environment_fingerprint() -> str:
    """Python and key library versions, part of every cache key."""
    from importlib import metadata

    parts = [sys.version]
    for name in _KEY_LIBRARIES:
        try:
            parts.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}: absent")
    return "\n".join(parts)


def notebook_meta(notebook: Path) -> dict:
    """The ``citybridge`` metadata of a notebook: ``{"boards": "all" | "own"}``
    when it shows KPI boards (side by side, or its own city's), and
    ``{"profiles": ["parameters.grid_kgco2_per_kwh", ...]}`` for values it reads
    from the other cities' ``city.yml`` ({} when it says nothing or cannot be read)."""
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    meta = (nb.get("metadata") or {}).get("citybridge") or {}
    return meta if isinstance(meta, dict) else {}


def profile_values(cities: list[City], fields: list[str]) -> dict[str, list]:
    """The values of the dotted ``city.yml`` fields (``parameters.grid_kgco2_per_kwh``)
    of each city, by slug, as JSON-ready lists (None where a city has none)."""
    out = {}
    for c in cities:
        vals = []
        for dotted in fields:
            v = c.profile
            for part in str(dotted).split("."):
                v = getattr(v, part, None)
            vals.append(v.model_dump(mode="json") if hasattr(v, "model_dump") else v)
        out[c.slug] = vals
    return out


def package_hash() -> str:
    """Hash of the package source (every .py file and asset of citybridge)."""
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    hash_files(sorted(p for p in pkg.rglob("*") if p.is_file() and "__pycache__" not in p.parts), h)
    return h.hexdigest()


def job_key(notebook: Path, parameters: dict, cities: dict[str, Path], pkg: str, env: str = "",
            profiles: dict | None = None) -> str:
    """Cache key of one job: package, environment, notebook, parameters, the
    files of the cities it reads (``{slug: folder}``) and the values it reads
    from the other cities' profiles (:func:`profile_values`; None for none)."""
    h = hashlib.sha256()
    h.update(pkg.encode() + b"\0" + env.encode() + b"\0")
    hash_files([Path(notebook)], h)
    h.update(json.dumps(parameters, sort_keys=True).encode())
    if profiles:
        h.update(b"\0profiles\0" + json.dumps(profiles, sort_keys=True, default=str).encode())
    for slug in sorted(cities):
        folder = Path(cities[slug])
        h.update(b"\0city\0" + slug.encode() + b"\0")
        hash_files(sorted(p for p in folder.rglob("*") if p.is_file() and not is_temporary(p)), h, base=folder)
    return h.hexdigest()[:24]


def plan(root: Path, *, cities: list[str] | None = None, notebooks: list[str] | None = None,
         book_dir: Path | None = None, cities_root: Path | None = None,
         ) -> tuple[list[Job], dict[str, str]]:
    """The jobs of a build and the cities that cannot be built (with reasons).

    A city whose profile or GTFS is missing or invalid, or that fails to load
    for any other reason, is reported and its jobs are left out; a city with
    blocking input problems (see :func:`citybridge.validate.blocking_problems`)
    gets only chapter 00, which shows them. The other cities still build.
    """
    book_dir = book_dir or root / "book"
    croot = cities_root or root / "data" / "cities"
    slugs = cities or list_cities(croot)
    errors: dict[str, str] = {}
    ok: list[City] = []
    for slug in slugs:
        try:
            ok.append(load_city(slug, root=croot))
        except CitybridgeError as exc:
            errors[slug] = str(exc)
        except RecursionError:
            errors[slug] = (f"{croot / slug / 'city.yml'}: nested too deeply to read; a city profile holds a "
                            "few levels of settings only")
        except Exception as exc:  # noqa: BLE001 - one broken city never stops the others
            errors[slug] = f"{croot / slug}: could not be read ({type(exc).__name__}: {str(exc)[:500]})"
    # a city whose inputs would make chapters fail or show nonsense gets only
    # its data check (chapter 00), which shows the problems
    check_only: set[str] = set()
    for c in ok:
        try:
            from .validate import blocking_problems

            problems = blocking_problems(c)
        except Exception as exc:  # noqa: BLE001 - one broken city never stops the others
            problems = [f"{c.folder}: its inputs could not be checked ({type(exc).__name__}: {exc})"]
        if problems:
            check_only.add(c.slug)
            errors[c.slug] = ("only the data check (chapter 00) was built, because:\n" + "\n".join(
                f"{p.file}{', column ' + repr(p.column) if getattr(p, 'column', '') else ''}: {p.message}"
                if hasattr(p, "message") else str(p) for p in problems))
    pkg = package_hash()
    from .texts import build_languages

    env = environment_fingerprint() + "|editions=" + ",".join(build_languages())
    remove_leftovers(book_dir)
    for c in ok:
        remove_stale_downloads(c.folder)
    # the notebooks find <root>/data/cities from their working folder; another
    # folder is passed explicitly (and then shows in the executed notebook)
    extra = {} if croot.resolve() == (root / "data" / "cities").resolve() else {"cities_root": str(croot)}
    jobs: list[Job] = []
    readable = _readable_profiles(croot, ok)
    for nb in city_notebooks(root, notebooks):
        meta = notebook_meta(nb)
        fields = list(meta.get("profiles") or [])
        for c in list(ok):
            if c.slug in check_only and not nb.name.startswith("00_"):
                continue
            params = {"city": c.slug, **extra}
            out = book_dir / "cities" / c.slug / nb.name
            others = profile_values([o for o in readable if o.slug != c.slug], fields) if fields else None
            try:
                key = job_key(nb, params, {c.slug: c.folder}, pkg, env, others)
            except OSError as exc:  # an unreadable file in this city's folder
                if c.slug not in errors:
                    errors[c.slug] = f"{c.folder}: a file cannot be read ({exc}); make it readable"
                ok.remove(c)
                jobs = [j for j in jobs if j.city != c.slug]
                continue
            jobs.append(Job(str(nb), str(out), params, c.slug, key, str(c.folder), bool(meta.get("boards")),
                            str(croot)))
    if not notebooks:
        full = [c for c in ok if c.slug not in check_only]
        for nb in compare_notebooks(root):
            params = {"cities": ",".join(c.slug for c in full), **extra}
            out = book_dir / "compare" / nb.name
            try:
                key = job_key(nb, params, {c.slug: c.folder for c in full}, pkg, env)
            except OSError as exc:
                errors["all cities"] = f"the comparison was not built: a file cannot be read ({exc})"
                continue
            jobs.append(Job(str(nb), str(out), params, None, key, board=True, cities_root=str(croot)))
    return jobs, errors


def _readable_profiles(croot: Path, loaded: list[City]) -> list[City]:
    """Every city of ``croot`` whose profile reads: those already loaded, and the
    others (a city left out of this build still shows in the others' pages)."""
    have = {c.slug: c for c in loaded}
    out = []
    for slug in list_cities(croot):
        if slug in have:
            out.append(have[slug])
            continue
        try:
            out.append(load_city(slug, root=croot))
        except Exception:  # noqa: BLE001 - a broken city is reported by its own jobs
            continue
    return out


_PID_RE = re.compile(r"^\.(?:html-)?.*?[.-](\d+)[.-]")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id is running (this one counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def is_leftover(p: Path, *, older_than_s: float = 600) -> bool:
    """Whether a temporary file or folder (``.NN_name.<pid>.*.ipynb``,
    ``.name.<pid>.tmp``, ``.html-<pid>-*``) was left by a build that is no
    longer running: its process id is dead, or (names without one) it is
    older than ``older_than_s``."""
    m = _PID_RE.match(p.name)
    if m and p.name != ".html-old":
        return not pid_alive(int(m.group(1)))
    try:
        return time.time() - p.stat().st_mtime > older_than_s
    except OSError:
        return False


def remove_leftovers(book_dir: Path) -> list[Path]:
    """Remove what killed builds left in the book: half-written executed
    notebooks and page temporaries (``.*.ipynb``, ``.*.tmp``) in
    ``cities/*/`` and ``compare/``, and half-built HTML folders
    (``_build/.html-*``). Those of a build still running are kept."""
    removed = []
    folders = [book_dir / "compare", book_dir, *(book_dir / "cities").glob("*")] if book_dir.is_dir() else []
    cands = [p for f in folders if f.is_dir() for pat in (".*.ipynb", ".*.tmp") for p in f.glob(pat)]
    build_root = book_dir / "_build"
    if build_root.is_dir():
        cands += [p for p in build_root.glob(".html-*") if p.is_dir() and p.name != ".html-old"]
    for p in cands:
        if not is_leftover(p):
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def current_umask() -> int:
    """The process's file-creation mask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM when the build process dies, even by SIGKILL."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: sphinx_result still stops it on an interrupt
        pass


def start_sphinx(source: Path, out: Path, doctrees: Path, *, strict: bool = False,
                 language: str | None = None) -> subprocess.Popen:
    """Start Sphinx building ``source`` into ``out`` (HTML; ``language``: an edition's) in a
    child process that dies with the build; read its end with :func:`sphinx_result`."""
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q",
           *(["-D", f"language={language}"] if language else []), str(source), str(out), "-d", str(doctrees)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def sphinx_result(proc: subprocess.Popen) -> tuple[int, str]:
    """Wait for a Sphinx started by :func:`start_sphinx`: its exit code and the last 25 lines
    it wrote. An interrupted build stops it first."""
    try:
        stdout, stderr = proc.communicate()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc.returncode, "\n".join((stdout + stderr).strip().splitlines()[-25:])


def __getattr__(name: str):
    """``execute`` and ``run_job`` live in :mod:`citybridge.runner`; importing them
    from here still works."""
    if name in ("execute", "run_job", "BOARD_CHAPTER"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
