"""A build killed part-way (SIGKILL) leaves the previous book intact and
readable, and the next build completes.

Runs the real ``citybridge build`` command in a temporary copy of the project
that holds one small fixture city and chapters 00-02 only (to stay fast).
Two kills: while notebooks execute, and while Sphinx writes the HTML.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import copy_project
from gtfs_fixtures import timetable_tables, write_feed

CHAPTERS = ("00_", "01_", "02_")
CLI = [sys.executable, "-c", "import sys; from citybridge.cli import main; sys.exit(main())"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CITYBRIDGE_")}


def _build(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "build", *args], cwd=root, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def _html_state(html: Path) -> dict[str, str]:
    return {str(p.relative_to(html)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(html.rglob("*.html"))}


def _kill_when(root: Path, ready, *, args: tuple[str, ...], limit: float = 120) -> bool:
    """Start `citybridge build ARGS`, SIGKILL its whole process group once
    ``ready()`` is true. Returns False when the build finished first."""
    proc = subprocess.Popen([*CLI, "build", *args], cwd=root, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.time() + limit
        while time.time() < end:
            if proc.poll() is not None:
                return False
            if ready():
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
                return True
            time.sleep(0.05)
        raise AssertionError("the build never reached the point where it should be killed")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        # the kernels it started belong to its process group: make sure none is left
        for _ in range(100):
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)


def _assert_book_intact(html: Path, before: dict[str, str]) -> None:
    assert (html / "index.html").is_file(), "the previous book's index.html is gone"
    assert _html_state(html) == before, "pages of the previous book changed or disappeared"
    assert 'href="en/intro.html"' in (html / "index.html").read_text(encoding="utf-8")  # offers the editions
    for name in ("intro.html", "cities/testville/index.html", "cities/testville/01_network.html"):
        text = (html / name).read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>") and "<title>" in text, name


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from citybridge.newcity import new_city

    base = tmp_path_factory.mktemp("interrupted")
    root = copy_project(base / "project")
    for slug in ("santiago", "hangzhou"):
        shutil.rmtree(root / "data" / "cities" / slug, ignore_errors=True)
    for nb in (root / "notebooks").glob("*.ipynb"):
        if not nb.name.startswith(CHAPTERS):
            nb.unlink()
    new_city("testville", write_feed(base / "feed.zip", timetable_tables()), root=root / "data" / "cities")
    first = _build(root)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    return root


def test_killed_while_executing_notebooks(project):
    html = project / "book" / "_build" / "html"
    executed = project / "book" / "cities" / "testville"
    before = _html_state(html)
    assert "cities/testville/02_service.html" in before
    first_nb = executed / "00_data_check.ipynb"
    t0 = first_nb.stat().st_mtime_ns

    # --no-cache: every notebook runs again; kill once the first one was replaced
    killed = _kill_when(project, lambda: first_nb.stat().st_mtime_ns != t0, args=("--no-cache",))
    assert killed
    _assert_book_intact(html, before)
    import nbformat

    for nb in executed.glob("[0-9]*.ipynb"):  # every executed notebook in place is complete
        nbformat.validate(nbformat.read(nb, as_version=4))

    again = _build(project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 failed" in again.stdout
    assert set(_html_state(html)) == set(before)


def test_killed_while_writing_html(project):
    html = project / "book" / "_build" / "html"
    before = _html_state(html)
    build_root = project / "book" / "_build"
    # notebooks are reused from the cache, then Sphinx writes into _build/.html-*; kill it there
    killed = _kill_when(project, lambda: any(p.name.startswith(".html-") and p.name != ".html-old"
                                             for p in build_root.iterdir()), args=())
    assert killed
    _assert_book_intact(html, before)
    again = _build(project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (html / "index.html").is_file() and set(_html_state(html)) == set(before)


def _sphinx_alive(root: Path) -> list[int]:
    """Pids of Sphinx processes writing into this project's book."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"sphinx" in cmd and any(str(root).encode() in c for c in cmd):
            out.append(int(p.name))
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_build_leaves_no_sphinx_and_the_next_build_cleans_up(project, sig):
    """Only the build process itself is killed (not its group): its Sphinx child must
    stop too, and the next build removes the half-written HTML folder and any
    half-written executed notebook."""
    build_root = project / "book" / "_build"
    executed = project / "book" / "cities" / "testville"
    stray_nb = executed / ".01_network.999999999.tmpxyz.ipynb"  # as left by a build killed mid-notebook
    stray_nb.write_text("{", encoding="utf-8")
    proc = subprocess.Popen([*CLI, "build"], cwd=project, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        end = time.time() + 180
        while time.time() < end and not _sphinx_alive(project):
            assert proc.poll() is None, "the build finished before Sphinx was seen"
            time.sleep(0.05)
        assert _sphinx_alive(project), "Sphinx never started"
        os.kill(proc.pid, sig)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    for _ in range(100):
        if not _sphinx_alive(project):
            break
        time.sleep(0.1)
    assert _sphinx_alive(project) == [], "Sphinx outlived the build"
    again = _build(project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [p.name for p in build_root.iterdir() if p.name.startswith(".html-") and p.is_dir()] == []
    assert not stray_nb.exists()
