"""environment.yml (conda) lists the same dependencies as pyproject.toml."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _constraint(spec: str) -> str:
    return spec.strip()[len(_name(spec)):].replace(" ", "")


def test_environment_yml_matches_pyproject():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, {}
    for d in env["dependencies"]:
        if isinstance(d, dict):
            for p in d["pip"]:
                if not p.startswith("-e"):
                    pip[_name(p)] = _constraint(p)
        else:
            conda[_name(d)] = _constraint(d)
    listed = {**conda, **pip}
    want = {_name(d): _constraint(d) for d in deps}
    missing = sorted(set(want) - set(listed))
    assert not missing, f"environment.yml lacks {missing}"
    differ = {n: (want[n], listed[n]) for n in want if want[n] != listed[n]}
    assert not differ, f"version constraints differ (pyproject, environment.yml): {differ}"
    extra = sorted(set(listed) - set(want) - {"python", "pip"})
    assert not extra, f"environment.yml lists packages pyproject.toml does not: {extra}"
    assert any(str(p).startswith("-e .") for d in env["dependencies"] if isinstance(d, dict) for p in d["pip"])
