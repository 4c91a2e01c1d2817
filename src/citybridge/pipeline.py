"""Execute the notebooks for every city with papermill.

One *job* is one notebook run for one city (or, for the cross-city notebooks
named ``compare*.ipynb``, once for all cities). Jobs are executed into a
temporary file and moved into place only when complete, so a build killed
part-way never leaves a half-written page. A job that fails is recorded with
its reason and does not stop the others.

Re-execution is skipped when nothing changed: a job's cache key hashes the
notebook, its parameters, the package source, the versions of Python and of
the libraries that shape the outputs, and the data files of every city the
notebook reads: its own city, or every city present for a notebook that
reads the others too (the cross-city ``compare*`` notebooks, and a city
notebook whose code calls ``list_cities(`` to show the other cities side by
side, unless its metadata says ``{"citybridge": {"cities": "own"}}``).
So changing one city's data re-runs that city's notebooks, the notebooks
that show every city, and nothing else.

Executed notebooks are kept in ``.citybridge-cache/<key>.ipynb``; a reused
notebook whose page already holds the same bytes is not rewritten, so the
book's incremental HTML build sees it unchanged.
"""
from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
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
class BuildReport:
    """What a build did: executed, reused and failed jobs, and skipped cities."""

    results: list[JobResult] = field(default_factory=list)
    city_errors: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    def to_json(self) -> str:
        return json.dumps({
            "results": [{**asdict(r.job), "ok": r.ok, "seconds": round(r.seconds, 2), "cached": r.cached,
                         "error": r.error} for r in self.results],
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


def reads_all_cities(notebook: Path) -> bool:
    """Whether a city notebook also reads the other cities (so its cache key
    must cover them): its metadata ``citybridge.cities`` says ``"all"``, or,
    without that, one of its code cells calls ``list_cities(`` or
    ``other_cities(``."""
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    meta = (nb.get("metadata") or {}).get("citybridge") or {}
    if "cities" in meta:
        return str(meta["cities"]).lower() == "all"
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            text = "".join(src) if isinstance(src, list) else src
            if "list_cities(" in text or "other_cities(" in text:
                return True
    return False


def package_hash() -> str:
    """Hash of the package source (every .py file and asset of citybridge)."""
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    hash_files(sorted(p for p in pkg.rglob("*") if p.is_file() and "__pycache__" not in p.parts), h)
    return h.hexdigest()


def _city_folders(croot: Path) -> dict[str, Path]:
    """Every city folder (with a city.yml) in ``croot``, by slug."""
    return {slug: croot / slug for slug in list_cities(croot)}


def job_key(notebook: Path, parameters: dict, cities: dict[str, Path], pkg: str, env: str = "") -> str:
    """Cache key of one job: package, environment, notebook, parameters and
    the files of the cities it reads (``{slug: folder}``)."""
    h = hashlib.sha256()
    h.update(pkg.encode() + b"\0" + env.encode() + b"\0")
    hash_files([Path(notebook)], h)
    h.update(json.dumps(parameters, sort_keys=True).encode())
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
    env = environment_fingerprint()
    every = _city_folders(croot)
    remove_leftovers(book_dir)
    for c in ok:
        remove_stale_downloads(c.folder)
    # the notebooks find <root>/data/cities from their working folder; another
    # folder is passed explicitly (and then shows in the executed notebook)
    extra = {} if croot.resolve() == (root / "data" / "cities").resolve() else {"cities_root": str(croot)}
    jobs: list[Job] = []
    for nb in city_notebooks(root, notebooks):
        wide = reads_all_cities(nb)
        for c in list(ok):
            if c.slug in check_only and not nb.name.startswith("00_"):
                continue
            params = {"city": c.slug, **extra}
            out = book_dir / "cities" / c.slug / nb.name
            reads = {**every, c.slug: c.folder} if wide else {c.slug: c.folder}
            try:
                key = job_key(nb, params, reads, pkg, env)
            except OSError as exc:  # an unreadable file in this city's folder (or another city's)
                if c.slug not in errors:
                    errors[c.slug] = f"{c.folder}: a file cannot be read ({exc}); make it readable"
                ok.remove(c)
                jobs = [j for j in jobs if j.city != c.slug]
                continue
            jobs.append(Job(str(nb), str(out), params, c.slug, key))
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
            jobs.append(Job(str(nb), str(out), params, None, key))
    return jobs, errors


_PID_RE = re.compile(r"^\.(?:html-)?.*?[.-](\d+)[.-]")


def _pid_alive(pid: int) -> bool:
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
        return not _pid_alive(int(m.group(1)))
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _short_error(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        ename = getattr(exc, "ename", "")
        evalue = getattr(exc, "evalue", "")
        cell = getattr(exc, "exec_count", None)
        return f"cell {cell}: {ename}: {evalue}".strip()
    return f"{name}: {exc}"


def run_job(job: Job, cache_dir: str | None = None, cwd: str | None = None, reuse: bool = True) -> JobResult:
    """Execute one job (in this process). Never raises: failures are returned.

    With ``cache_dir``, an executed notebook is stored under its key; with
    ``reuse`` too, a stored one is used instead of executing (and the output
    file is left untouched when it already holds the same bytes).
    """
    import papermill as pm

    t0 = time.perf_counter()
    out = Path(job.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    cached = Path(cache_dir) / f"{job.key}.ipynb" if cache_dir and job.key else None
    if reuse and cached is not None and cached.is_file():
        if not (out.is_file() and filecmp.cmp(cached, out, shallow=False)):
            tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            shutil.copyfile(cached, tmp)
            os.replace(tmp, out)
        return JobResult(job, True, time.perf_counter() - t0, cached=True)
    fd, tmpname = tempfile.mkstemp(prefix=f".{out.stem}.{os.getpid()}.", suffix=".ipynb", dir=out.parent)
    os.close(fd)
    os.chmod(tmpname, 0o666 & ~_umask())  # mkstemp makes it 0600: published pages follow the umask
    try:
        pm.execute_notebook(job.notebook, tmpname, parameters=job.parameters, progress_bar=False,
                            kernel_name="python3", cwd=cwd or str(Path(job.notebook).parent),
                            log_output=False, request_save_on_cell_execute=False)
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a report line
        try:
            os.unlink(tmpname)
        except OSError:
            pass
        if isinstance(exc, KeyboardInterrupt):
            raise
        err = _short_error(exc)
        if type(exc).__name__ not in ("PapermillExecutionError",):
            err += "\n" + "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return JobResult(job, False, time.perf_counter() - t0, error=err)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        ctmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        shutil.copyfile(tmpname, ctmp)
        os.replace(ctmp, cached)
    os.replace(tmpname, out)
    return JobResult(job, True, time.perf_counter() - t0)


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="notebook", file=sys.stderr, dynamic_ncols=True,
                disable=total == 0)


def _failed(job: Job, exc: BaseException, where: str) -> JobResult:
    return JobResult(job, False, 0.0, error=f"{where}: {type(exc).__name__}: {exc}")


def execute(jobs: list[Job], *, workers: int = 1, scheduler: str | None = None,
            cache_dir: Path | None = None, cwd: Path | None = None, reuse: bool = True) -> list[JobResult]:
    """Run jobs serially, in ``workers`` processes, or on a Dask cluster.

    City jobs run first; cross-city jobs run after all city jobs finished
    (they read the cities' results), without the cities that had a failed
    chapter (see :func:`_without_failed_cities`). With ``reuse=False`` every job is
    executed and its result stored in ``cache_dir`` for the next build.
    """
    cdir = str(cache_dir) if cache_dir else None
    wd = str(cwd) if cwd else None
    first = [j for j in jobs if j.city is not None]
    last = [j for j in jobs if j.city is None]
    results: list[JobResult] = []
    bar = _progress(len(jobs), "executing notebooks")
    try:
        for n, batch in enumerate((first, last)):
            if n == 1:
                batch, skipped = _without_failed_cities(batch, results)
                results += skipped
                bar.update(len(skipped))
            if not batch:
                continue
            if scheduler:
                results += _execute_dask(batch, scheduler, cdir, wd, bar, reuse)
            elif workers > 1 and len(batch) > 1:
                pool = ProcessPoolExecutor(max_workers=min(workers, len(batch)))
                try:
                    futs = {pool.submit(run_job, j, cdir, wd, reuse): j for j in batch}
                    for f in as_completed(futs):
                        try:
                            r = f.result()
                        except Exception as exc:  # noqa: BLE001 - a worker process died
                            r = _failed(futs[f], exc, "worker process")
                        results.append(r)
                        bar.set_postfix_str(r.job.label[-40:])
                        bar.update()
                except BaseException:
                    # interrupted: stop the workers (and so their kernels) instead of waiting for them
                    procs = list((getattr(pool, "_processes", None) or {}).values())
                    pool.shutdown(wait=False, cancel_futures=True)
                    for proc in procs:
                        proc.terminate()
                    raise
                pool.shutdown(wait=True)
            else:
                for j in batch:
                    bar.set_postfix_str(j.label[-40:])
                    results.append(run_job(j, cdir, wd, reuse))
                    bar.update()
    finally:
        bar.close()
    order = {j.output: i for i, j in enumerate(jobs)}
    results.sort(key=lambda r: order.get(r.job.output, 0))
    return results


#: The chapter that computes a city's KPI board, which the comparison reads.
BOARD_CHAPTER = "07_operations"


def _without_failed_cities(jobs: list[Job], done: list[JobResult]) -> tuple[list[Job], list[JobResult]]:
    """The cross-city jobs without the cities whose KPI board could not be made.

    The comparison reads each city's board (chapter :data:`BOARD_CHAPTER`); a
    city whose board chapter failed would break it too, so it stays on the
    build report instead. A failure in another chapter (one broken optional
    input, one broken notebook) costs that chapter only. A job left with no
    city is reported, not run."""
    bad = {r.job.city for r in done
           if not r.ok and r.job.city and Path(r.job.notebook).stem == BOARD_CHAPTER}
    keep: list[Job] = []
    skipped: list[JobResult] = []
    for j in jobs:
        slugs = [c for c in str(j.parameters.get("cities", "")).split(",") if c]
        if not bad or not slugs:
            keep.append(j)
            continue
        left = [c for c in slugs if c not in bad]
        if left == slugs:
            keep.append(j)
        elif not left:
            skipped.append(JobResult(j, False, 0.0, error="not run: no city has a KPI board (their chapter "
                                     f"{BOARD_CHAPTER} failed: "
                                     f"{', '.join(sorted(bad))}); see their failures above"))
        else:
            params = {**j.parameters, "cities": ",".join(left)}
            key = hashlib.sha256(f"{j.key}|{params['cities']}".encode()).hexdigest()[:24] if j.key else ""
            keep.append(Job(j.notebook, j.output, params, None, key))
    return keep, skipped


def _execute_dask(batch: list[Job], address: str, cdir, wd, bar, reuse: bool = True) -> list[JobResult]:
    """Run the batch on the Dask cluster at ``address`` (workers must see the
    same file system: the notebooks, data and book folders)."""
    try:
        from distributed import Client, as_completed as das_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise CitybridgeError("--scheduler needs the 'distributed' package; install it with "
                              "pip install 'dask[distributed]'") from None
    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise CitybridgeError(f"could not reach the Dask scheduler at {address} ({exc}); "
                              "check the address (e.g. tcp://127.0.0.1:8786) and that it runs") from None
    out = []
    try:
        futs = {client.submit(run_job, j, cdir, wd, reuse, pure=False): j for j in batch}
        for f in das_completed(list(futs)):
            try:
                r = f.result()
            except Exception as exc:  # noqa: BLE001 - a worker died or could not run the job
                r = _failed(futs[f], exc, "Dask worker")
            out.append(r)
            bar.set_postfix_str(r.job.label[-40:])
            bar.update()
    finally:
        client.close()
    return out
