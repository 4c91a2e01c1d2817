"""The corpus of broken and hostile inputs (tests/corpus/cases.yml).

Every case is built at test time from its text spec, then run through
``citybridge validate`` (the command's ``main``, and a few through a real
subprocess) and, for feeds, through :func:`citybridge.feed.read_feed`. Each
must print its message fragment, exit with its code, show no traceback and
leave every input file byte-for-byte unchanged.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from citybridge import cli
from citybridge.errors import FeedError
from citybridge.feed import read_feed
from gtfs_fixtures import (calendar_dates_only_tables, frequency_tables, timetable_tables,
                           write_feed)
from realshaped import FEEDS as REAL_SHAPED

CORPUS = Path(__file__).parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yml").read_text(encoding="utf-8"))["cases"]
BASES = {"timetable": timetable_tables, "frequency": frequency_tables,
         "calendar_dates_only": calendar_dates_only_tables, **REAL_SHAPED}
GOOD_PROFILE = "name: Testville\ncrs: EPSG:32719\ntimezone: America/Santiago\n"
#: cases also run through a real `citybridge` process (exit code of the process itself)
SUBPROCESS_CASES = {"zip_slip_dotdot", "no_direction_id", "yaml_python_object_tag", "bom_and_stray_whitespace"}


def _norm(text: str) -> str:
    """Join wrapped report lines: the report wraps long messages at spaces."""
    return " ".join(text.split())


def _tables(case: dict) -> dict[str, bytes]:
    """The case's feed tables as bytes, after its edits."""
    texts: dict[str, str | None] = dict(BASES[case.get("base", "timetable")]())
    for name in case.get("delete", []):
        texts.pop(name)
    for name, old, new in case.get("edit", []):
        assert old in texts[name], f"{case['id']}: edit target {old!r} not in {name}"
        texts[name] = texts[name].replace(old, new, 1)
    for name, text in (case.get("set") or {}).items():
        texts[name] = text
    out: dict[str, bytes] = {}
    for name, text in texts.items():
        data = text.encode(case.get("encode", {}).get(name, "utf-8"))
        if name in case.get("bom", []):
            data = b"\xef\xbb\xbf" + data
        out[name] = data
    return out


def _write_zip(path: Path, tables: dict[str, bytes], prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in tables.items():
            zf.writestr(prefix + name, data)
    return path


def build_feed(case: dict, where: Path) -> Path:
    """Write the case's feed under ``where`` and return its path."""
    tables = _tables(case)
    special = case.get("special")
    path = where / f"{case['id']}.zip"
    if case.get("layout") == "folder":
        folder = where / case["id"]
        folder.mkdir()
        for name, data in tables.items():
            (folder / name).write_bytes(data)
        return folder
    if special is None:
        return _write_zip(path, tables)
    if special == "bomb":
        tables["shapes.txt"] = b"0" * (50 * 1024 * 1024)
        return _write_zip(path, tables)
    if special == "many_entries":
        _write_zip(path, tables)
        with zipfile.ZipFile(path, "a") as zf:
            for i in range(2100):
                zf.writestr(f"junk/{i}.dat", b"")
        return path
    if special == "not_a_zip":
        path.write_bytes(b"PK\x03\x04 this is not really a zip archive\n")
        return path
    if special == "nested_zip":
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as zf:
            for name, data in tables.items():
                zf.writestr(name, data)
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("inner_feed.zip", inner.getvalue())
        return path
    if special == "two_feeds":
        _write_zip(path, tables, prefix="operator_a/")
        with zipfile.ZipFile(path, "a") as zf:
            for name, data in tables.items():
                zf.writestr("operator_b/" + name, data)
        return path
    if special == "subfolder":
        return _write_zip(path, tables, prefix="gtfs_2026/")
    if special == "macos_junk":
        _write_zip(path, tables)
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr("__MACOSX/._stops.txt", b"\x00\x05\x16\x07\xff\xfe binary resource fork")
            zf.writestr("._routes.txt", b"\x00\x05\x16\x07\xff\xfe")
            zf.writestr(".DS_Store", b"\x00\x00\x00\x01Bud1")
        return path
    raise AssertionError(f"unknown special {special!r}")


def build_city(case: dict, where: Path) -> Path:
    """Write the case's city folder (profile, extra files, a good feed) and return it."""
    city = where / "testville"
    city.mkdir()
    if case.get("gtfs_folder"):
        (city / case["gtfs_folder"]).mkdir()
        for name, text in timetable_tables().items():
            (city / case["gtfs_folder"] / name).write_text(text, encoding="utf-8")
    elif not case.get("no_feed"):
        write_feed(city / "gtfs.zip", timetable_tables())
    yml = city / "city.yml"
    if "city_yml_bytes_latin1" in case:
        yml.write_bytes(case["city_yml_bytes_latin1"].encode("latin-1"))
    elif "city_yml_nested" in case:  # a value nested N flow lists deep
        n = case["city_yml_nested"]
        yml.write_text(GOOD_PROFILE + "notes: " + "[" * n + "]" * n + "\n", encoding="utf-8")
    elif "city_yml_nested_map" in case:  # N block mappings, one inside the other
        n = case["city_yml_nested_map"]
        yml.write_text(GOOD_PROFILE + "".join(" " * i + f"k{i}:\n" for i in range(n)) + " " * n + "x: 1\n",
                       encoding="utf-8")
    elif "city_yml_padding" in case:
        yml.write_text(GOOD_PROFILE + "# " + "x" * case["city_yml_padding"] + "\n", encoding="utf-8")
    else:
        yml.write_text(case["city_yml"], encoding="utf-8")
    for name, text in (case.get("files") or {}).items():
        p = city / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    for name, b64 in (case.get("files_b64") or {}).items():
        p = city / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(base64.b64decode(b64))
    return city


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_corpus_is_large_enough_and_ids_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 100
    assert sum(c["kind"] == "feed" for c in CASES) >= 15
    assert sum(c["kind"] == "profile" for c in CASES) >= 10
    for c in CASES:
        assert c["expect"]["fragment"].strip(), c["id"]
        assert c["expect"]["exit"] in (0, 1, 2), c["id"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    target = build_feed(case, inputs) if case["kind"] == "feed" else build_city(case, inputs)
    before = _hashes(inputs)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    exp = case["expect"]

    code = cli.main(["validate", str(target)])
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text
    assert code == exp["exit"], text
    assert _norm(exp["fragment"]) in _norm(text), text
    if exp["exit"] == 0:
        assert "FATAL" not in text and "WARNINGS" not in text

    if case["kind"] == "feed" and "read_feed" in exp:
        if exp["read_feed"] == "error":
            with pytest.raises(FeedError) as e:
                read_feed(target)
            assert exp["fragment"] in str(e.value)
        else:
            read_feed(target)

    if case["id"] in SUBPROCESS_CASES:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYBRIDGE_")}
        proc = subprocess.run([sys.executable, "-m", "citybridge.cli", "validate", str(target)],
                              capture_output=True, text=True, cwd=work, env=env, timeout=120)
        assert proc.returncode == exp["exit"], proc.stdout + proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
        assert _norm(exp["fragment"]) in _norm(proc.stdout + proc.stderr)

    assert _hashes(inputs) == before, "an input file was modified"
    assert list(work.iterdir()) == [], "validate wrote files in the working folder"
    assert not re.search(r"HACKED", " ".join(p.name for p in tmp_path.rglob("*")))
