"""Execute the notebooks for every city with papermill.

One *job* is one notebook run for one city (or, for the cross-city notebooks
named ``compare*.ipynb``, once for all cities). Jobs are executed into a
temporary file and moved into place only when complete, so a build killed
part-way never leaves a half-written page. A job that fails is recorded with
its reason and does not stop the others.

Re-execution is skipped when nothing changed: a job's cache key hashes the
notebook, its parameters, the city's data files and the package source.
"""
from __future__ import annotations

import hashlib
import json
import os
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


def _hash_files(paths: list[Path], h) -> None:
    for p in paths:
        h.update(str(p.name).encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)


def package_hash() -> str:
    """Hash of the package source (every .py file and asset of citybridge)."""
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    _hash_files(sorted(p for p in pkg.rglob("*") if p.is_file() and "__pycache__" not in p.parts), h)
    return h.hexdigest()


def job_key(notebook: Path, parameters: dict, cities: list[City], pkg: str) -> str:
    h = hashlib.sha256()
    h.update(pkg.encode())
    _hash_files([notebook], h)
    h.update(json.dumps(parameters, sort_keys=True).encode())
    for c in cities:
        h.update(c.slug.encode())
        _hash_files(c.data_files(), h)
    return h.hexdigest()[:24]


def plan(root: Path, *, cities: list[str] | None = None, notebooks: list[str] | None = None,
         book_dir: Path | None = None, cities_root: Path | None = None,
         ) -> tuple[list[Job], dict[str, str]]:
    """The jobs of a build and the cities that cannot be built (with reasons).

    A city whose profile or GTFS is missing or invalid is reported and its
    jobs are left out; the other cities still build.
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
    pkg = package_hash()
    # the notebooks find <root>/data/cities from their working folder; another
    # folder is passed explicitly (and then shows in the executed notebook)
    extra = {} if croot.resolve() == (root / "data" / "cities").resolve() else {"cities_root": str(croot)}
    jobs: list[Job] = []
    for nb in city_notebooks(root, notebooks):
        for c in ok:
            params = {"city": c.slug, **extra}
            out = book_dir / "cities" / c.slug / nb.name
            jobs.append(Job(str(nb), str(out), params, c.slug, job_key(nb, params, [c], pkg)))
    if not notebooks:
        for nb in compare_notebooks(root):
            params = {"cities": ",".join(c.slug for c in ok), **extra}
            out = book_dir / "compare" / nb.name
            jobs.append(Job(str(nb), str(out), params, None, job_key(nb, params, ok, pkg)))
    return jobs, errors


def _short_error(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        ename = getattr(exc, "ename", "")
        evalue = getattr(exc, "evalue", "")
        cell = getattr(exc, "exec_count", None)
        return f"cell {cell}: {ename}: {evalue}".strip()
    return f"{name}: {exc}"


def run_job(job: Job, cache_dir: str | None = None, cwd: str | None = None) -> JobResult:
    """Execute one job (in this process). Never raises: failures are returned."""
    import papermill as pm

    t0 = time.perf_counter()
    out = Path(job.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    cached = Path(cache_dir) / f"{job.key}.ipynb" if cache_dir and job.key else None
    if cached is not None and cached.is_file():
        tmp = out.with_name(f".{out.name}.tmp")
        shutil.copyfile(cached, tmp)
        os.replace(tmp, out)
        return JobResult(job, True, time.perf_counter() - t0, cached=True)
    fd, tmpname = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".ipynb", dir=out.parent)
    os.close(fd)
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
        ctmp = cached.with_name(f".{cached.name}.tmp")
        shutil.copyfile(tmpname, ctmp)
        os.replace(ctmp, cached)
    os.replace(tmpname, out)
    return JobResult(job, True, time.perf_counter() - t0)


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="notebook", file=sys.stderr, dynamic_ncols=True,
                disable=total == 0)


def execute(jobs: list[Job], *, workers: int = 1, scheduler: str | None = None,
            cache_dir: Path | None = None, cwd: Path | None = None) -> list[JobResult]:
    """Run jobs serially, in ``workers`` processes, or on a Dask cluster.

    City jobs run first; cross-city jobs run after all city jobs finished
    (they read the cities' results).
    """
    cdir = str(cache_dir) if cache_dir else None
    wd = str(cwd) if cwd else None
    first = [j for j in jobs if j.city is not None]
    last = [j for j in jobs if j.city is None]
    results: list[JobResult] = []
    bar = _progress(len(jobs), "executing notebooks")
    try:
        for batch in (first, last):
            if not batch:
                continue
            if scheduler:
                results += _execute_dask(batch, scheduler, cdir, wd, bar)
            elif workers > 1 and len(batch) > 1:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    futs = {pool.submit(run_job, j, cdir, wd): j for j in batch}
                    for f in as_completed(futs):
                        r = f.result()
                        results.append(r)
                        bar.set_postfix_str(r.job.label[-40:])
                        bar.update()
            else:
                for j in batch:
                    bar.set_postfix_str(j.label[-40:])
                    results.append(run_job(j, cdir, wd))
                    bar.update()
    finally:
        bar.close()
    order = {j.output: i for i, j in enumerate(jobs)}
    results.sort(key=lambda r: order.get(r.job.output, 0))
    return results


def _execute_dask(batch: list[Job], address: str, cdir, wd, bar) -> list[JobResult]:
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
        futs = [client.submit(run_job, j, cdir, wd, pure=False) for j in batch]
        for f in das_completed(futs):
            r = f.result()
            out.append(r)
            bar.update()
    finally:
        client.close()
    return out
