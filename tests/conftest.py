"""Shared fixtures: a copy of the project built once per test session."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "screenshots"


def copy_project(dest: Path) -> Path:
    """Copy what a build reads (notebooks, book sources, data) to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "notebooks", dest / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "data", dest / "data")
    shutil.copytree(ROOT / "book", dest / "book",
                    ignore=shutil.ignore_patterns("_build", "cities", "compare", "_toc.yml", "conf.py",
                                                  "build-report.md"))
    return dest


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The sample cities built into a temporary copy of the project (strict)."""
    from citybridge.book import build

    root = copy_project(tmp_path_factory.mktemp("project"))
    report, index = build(root, strict=True)
    return root, report, index
