"""Run the jobs of a build (:func:`citybridge.pipeline.plan`) with papermill.

First each city's KPI board is computed once, in a fresh worker process
(so a metropolis's memory is returned when it is done), and stored
(:func:`citybridge.artifacts.kpi_board`); then the city chapters run,
serially, in ``workers`` processes or on a Dask cluster; then every city
page's side-by-side tables are drawn again from the current boards
(:func:`citybridge.session.refresh_pages`); last, the comparison runs for the
cities that have a board.

Jobs are executed into a temporary file and moved into place only when
complete, so a build killed part-way never leaves a half-written page. A job
that fails is recorded with its reason and does not stop the others.
"""
from __future__ import annotations

import contextlib
import filecmp
import hashlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .errors import CitybridgeError
from .pipeline import BoardResult, Job, JobResult, current_umask

#: The chapter that shows a city's KPI board (the board itself is computed
#: before the chapters, see :func:`compute_boards`).
BOARD_CHAPTER = "07_operations"


class Results(list):
    """The job results of :func:`execute`, with the KPI boards (``boards``) and
    the city pages whose side-by-side tables were drawn again (``refreshed``)."""

    boards: list[BoardResult]
    refreshed: list[Path]


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
    os.chmod(tmpname, 0o666 & ~current_umask())  # mkstemp makes it 0600: published pages follow the umask
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


def _progress(total: int, desc: str, unit: str = "notebook"):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                disable=total == 0)


def make_board(folder: str, cache: str, cwd: str | None = None) -> BoardResult:
    """Compute and store one city's default-day KPI board (run in a worker
    process). Never raises: a failure is returned, and left beside the board's
    place for the side-by-side sentence (:func:`citybridge.session.note_board_error`)."""
    from .artifacts import kpi_board
    from .city import load_city
    from .session import note_board_error

    t0 = time.perf_counter()
    if cwd:
        os.chdir(cwd)  # the prepared day is stored where the chapters' kernels look for it
    slug = Path(folder).name
    try:
        city = load_city(folder)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a report line
        return BoardResult(slug, False, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")
    try:
        kpi_board(city, folder=Path(cache))
    except Exception as exc:  # noqa: BLE001 - one broken city never stops the others
        err = f"{type(exc).__name__}: {exc}" if not isinstance(exc, CitybridgeError) else str(exc)
        note_board_error(city, err, folder=Path(cache))
        return BoardResult(slug, False, time.perf_counter() - t0, error=err)
    return BoardResult(slug, True, time.perf_counter() - t0)


def compute_boards(jobs: list[Job], *, cache: Path, workers: int = 1, scheduler: str | None = None,
                   cwd: Path | None = None) -> list[BoardResult]:
    """Compute, once, the KPI board of every city with a job that reads boards
    and whose board is not stored yet; each in a fresh worker process."""
    from .artifacts import board_path
    from .city import load_city

    folders = {j.city: j.folder for j in jobs if j.city and j.folder}
    wanted = {j.city for j in jobs if j.city and j.board}
    wanted |= {s for j in jobs if j.city is None for s in str(j.parameters.get("cities", "")).split(",") if s}
    todo, out = [], []
    for slug in sorted(wanted & set(folders)):
        try:
            stored = board_path(load_city(folders[slug]), folder=cache).is_file()
        except Exception:  # noqa: BLE001 - the worker reports it
            stored = False
        if stored:
            out.append(BoardResult(slug, True, 0.0, cached=True))
        else:
            todo.append(slug)
    args = [(folders[s], str(cache), str(cwd) if cwd else None) for s in todo]
    bar = _progress(len(args), "computing KPI boards", "city")
    try:
        out += _map(make_board, args, workers=workers, scheduler=scheduler, fresh=True, bar=bar,
                    failed=lambda a, exc, where: BoardResult(Path(a[0]).name, False, 0.0,
                                                             error=f"{where}: {type(exc).__name__}: {exc}"))
    finally:
        bar.close()
    return sorted(out, key=lambda b: b.city)


def _map(fn: Callable, args: list[tuple], *, workers: int, scheduler: str | None, bar, failed: Callable,
         fresh: bool = False) -> list:
    """``fn(*a)`` for every ``a``: on Dask, in worker processes (``fresh``: a new
    process for each call, even with one worker) or in this process."""
    if not args:
        return []
    if scheduler:
        return _map_dask(fn, args, scheduler, bar, failed)
    if not fresh and (workers <= 1 or len(args) <= 1):
        out = []
        for a in args:
            out.append(fn(*a))
            bar.update()
        return out
    ctx = multiprocessing.get_context("spawn") if fresh else None
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(args))), mp_context=ctx,
                               max_tasks_per_child=1 if fresh else None)
    out = []
    try:
        futs = {pool.submit(fn, *a): a for a in args}
        for f in as_completed(futs):
            try:
                r = f.result()
            except Exception as exc:  # noqa: BLE001 - a worker process died
                r = failed(futs[f], exc, "worker process")
            out.append(r)
            bar.update()
    except BaseException:
        # interrupted: stop the workers (and so their kernels) instead of waiting for them
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.terminate()
        raise
    pool.shutdown(wait=True)
    return out


def execute(jobs: list[Job], *, workers: int = 1, scheduler: str | None = None,
            cache_dir: Path | None = None, cwd: Path | None = None, reuse: bool = True,
            artifacts: Path | None = None) -> Results:
    """Compute the KPI boards, run the city jobs, refresh their side-by-side
    tables, then run the cross-city jobs.

    Jobs run serially, in ``workers`` processes, or on a Dask cluster.
    Cross-city jobs leave out the cities whose KPI board could not be made
    (see :func:`without_failed_cities`). With ``reuse=False`` every job is
    executed and its result stored in ``cache_dir`` for the next build.
    ``artifacts`` is the artefact folder the kernels use (default: as a kernel
    started in ``cwd`` finds it, :func:`citybridge.artifacts.cache_dir`).
    """
    from .texts import build_languages, drawing_languages

    # the chapters draw every output in each edition's language (citybridge.texts)
    with drawing_languages(build_languages()):
        return _execute(jobs, workers=workers, scheduler=scheduler, cache_dir=cache_dir, cwd=cwd, reuse=reuse,
                        artifacts=artifacts)


def _execute(jobs: list[Job], *, workers: int, scheduler: str | None, cache_dir: Path | None, cwd: Path | None,
             reuse: bool, artifacts: Path | None) -> Results:
    from .artifacts import cache_dir as artifact_dir
    from .session import refresh_pages

    cdir = str(cache_dir) if cache_dir else None
    wd = str(cwd) if cwd else None
    art = Path(artifacts) if artifacts else artifact_dir(cwd)
    first = [j for j in jobs if j.city is not None]
    last = [j for j in jobs if j.city is None]
    boards = compute_boards(jobs, cache=art, workers=workers, scheduler=scheduler, cwd=cwd)
    results = Results()
    bar = _progress(len(jobs), "executing notebooks")

    def failed(a, exc, where):
        return JobResult(a[0], False, 0.0, error=f"{where}: {type(exc).__name__}: {exc}")

    try:
        results += _map(run_job, [(j, cdir, wd, reuse) for j in first], workers=workers, scheduler=scheduler,
                        bar=bar, failed=failed)
        pages: dict[str, list[tuple[Path, Path | None]]] = {}
        for r in results:
            if r.ok and r.job.cities_root:
                cached = Path(cdir) / f"{r.job.key}.ipynb" if cdir and r.job.key else None
                pages.setdefault(r.job.cities_root, []).append((Path(r.job.output), cached))
        refreshed = [p for root, pgs in pages.items() for p in refresh_pages(pgs, Path(root), folder=art)]
        batch, skipped = without_failed_cities(last, boards)
        results += skipped
        bar.update(len(skipped))
        results += _map(run_job, [(j, cdir, wd, reuse) for j in batch], workers=workers, scheduler=scheduler,
                        bar=bar, failed=failed)
    finally:
        bar.close()
    order = {j.output: i for i, j in enumerate(jobs)}
    results.sort(key=lambda r: order.get(r.job.output, 0))
    results.boards, results.refreshed = boards, refreshed
    return results


def without_failed_cities(jobs: list[Job], boards: list[BoardResult]) -> tuple[list[Job], list[JobResult]]:
    """The cross-city jobs without the cities whose KPI board could not be made.

    The comparison reads each city's board; a city whose board failed stays
    on the build report instead. A failure in a chapter (one broken optional
    input, one broken notebook) costs that chapter only. A job left with no
    city is reported, not run."""
    bad = {b.city for b in boards if not b.ok}
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
            skipped.append(JobResult(j, False, 0.0, error="not run: no city has a KPI board (it could not be "
                                     f"computed for {', '.join(sorted(bad))}); see their failures above"))
        else:
            params = {**j.parameters, "cities": ",".join(left)}
            key = hashlib.sha256(f"{j.key}|{params['cities']}".encode()).hexdigest()[:24] if j.key else ""
            keep.append(Job(j.notebook, j.output, params, None, key, j.folder, j.board, j.cities_root))
    return keep, skipped


def _map_dask(fn: Callable, args: list[tuple], address: str, bar, failed: Callable) -> list:
    """``fn(*a)`` for every ``a`` on the Dask cluster at ``address`` (workers must
    see the same file system: the notebooks, data and book folders)."""
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
        futs = {client.submit(fn, *a, pure=False): a for a in args}
        for f in das_completed(list(futs)):
            try:
                r = f.result()
            except Exception as exc:  # noqa: BLE001 - a worker died or could not run the call
                r = failed(futs[f], exc, "Dask worker")
            out.append(r)
            bar.update()
    finally:
        client.close()
    return out


_KERNEL_CONFIG = ("# Written by citybridge build: the build's kernels log errors only, so the console\n"
                  "# is not repeated once per notebook with ipykernel's 'running over TCP' warning.\n"
                  "c.IPKernelApp.log_level = 'CRITICAL'\n")


@contextlib.contextmanager
def quiet_kernels(cache_dir: Path):
    """Run the build's kernels with an IPython profile that logs nothing below
    CRITICAL (``IPYTHONDIR`` in ``cache_dir``), so the console shows the progress
    bar, not one ipykernel warning per notebook. The user's own IPython
    profile is not read by the build's kernels, nor changed."""
    profile = cache_dir / "ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    cfg = profile / "ipython_kernel_config.py"
    if not cfg.is_file() or cfg.read_text(encoding="utf-8") != _KERNEL_CONFIG:
        cfg.write_text(_KERNEL_CONFIG, encoding="utf-8")
    old = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = str(profile.parent.resolve())
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = old
