"""The package's rooms (DESIGN.md): no private function used across modules, the sample
builder never imported at run time, modules of about 500 lines at most.

The allow-lists name what is known and left to fold in (files being rewritten elsewhere);
remove an entry once it is fixed — the tests fail on any new case, not on a fixed one.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGES = ("citybridge", "citybridge_samples")

#: (module that uses it, private name) still crossing a module boundary: none left.
KNOWN_PRIVATE_USES: set[tuple[str, str]] = set()
#: Modules above about 500 lines: none left.
KNOWN_LARGE: set[str] = set()
ABOUT_500 = 520


def _modules():
    for pkg in PACKAGES:
        yield from sorted((SRC / pkg).rglob("*.py"))


def private_uses(path: Path) -> set[str]:
    """Leading-underscore names a module imports from, or reads off, another module of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, aliases = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(PACKAGES)):
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    found.add(a.name)
                aliases.add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            aliases.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith(PACKAGES))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in aliases):
            found.add(node.attr)
    return found


def test_the_scan_finds_both_forms(tmp_path):
    """The scan sees ``from .x import _y`` and ``F._y(...)``, and not a module's own private names."""
    import textwrap

    src = textwrap.dedent('''
        from . import feed as F
        from .service import _links, period_table
        def _own(): return 1
        x = F._to_date("20260706") + _own() + F.read_feed
    ''')
    probe = tmp_path / "probe.py"
    probe.write_text(src, encoding="utf-8")
    assert private_uses(probe) == {"_links", "_to_date"}


def test_no_new_private_name_crosses_modules():
    uses = {(str(p.relative_to(SRC)), name) for p in _modules() for name in private_uses(p)}
    assert uses <= KNOWN_PRIVATE_USES, sorted(uses - KNOWN_PRIVATE_USES)


def test_rooms_stay_small():
    large = {str(p.relative_to(SRC)): n for p in _modules()
             if (n := len(p.read_text(encoding="utf-8").splitlines())) > ABOUT_500}
    assert set(large) <= KNOWN_LARGE, {k: v for k, v in large.items() if k not in KNOWN_LARGE}


def test_run_time_never_imports_the_sample_builder():
    """Importing every runtime module leaves ``citybridge_samples`` unimported (only `citybridge samples` does)."""
    code = ("import importlib, pkgutil, sys, citybridge\n"
            "for m in pkgutil.walk_packages(citybridge.__path__, 'citybridge.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(sorted(k for k in sys.modules if k.startswith('citybridge_samples')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
