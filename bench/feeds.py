"""Build the large benchmark feeds into bench/out/ (git-ignored), deterministically.

* ``replica``: a timetable feed of at least 3 million stop_times made by
  replicating a real feed ``copies`` times with new trip ids (``<trip>~<k>``)
  and each copy's times shifted by a few minutes, so stops and routes carry
  ``copies`` times the service. The base is gtfs-kit's NYC subway sample
  (``data/nyc_subway_gtfs.zip`` of the gtfs-kit source distribution, see
  :func:`gtfs_kit_sample`) or, when that cannot be had,
  the Hangzhou sample feed of this project.
* ``freq``: a frequency-based feed made by replicating the Santiago sample's
  template trips and frequencies.txt rows ``copies`` times (new trip ids,
  start times shifted), so that the service day expands to well over a
  million stop times.

Every file is rebuilt only when missing or made by another version of this
script (a ``.stamp`` file next to it).
"""
from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
VERSION = "5"


def _fresh(path: Path, tag: str) -> bool:
    stamp = path.with_suffix(path.suffix + ".stamp")
    return path.is_file() and stamp.is_file() and stamp.read_text() == f"{VERSION}:{tag}"


def _stamp(path: Path, tag: str) -> None:
    path.with_suffix(path.suffix + ".stamp").write_text(f"{VERSION}:{tag}")


def gtfs_kit_sample(name: str) -> Path | None:
    """``data/<name>`` of gtfs-kit's source distribution (its sample feeds: ``cairns_gtfs.zip``,
    ``nyc_subway_gtfs.zip``), fetched once with ``pip download`` into bench/out/; None when it
    cannot be had. The installed gtfs_kit package ships no sample data, so the sdist is used."""
    dest = OUT / name
    if dest.is_file():
        return dest
    OUT.mkdir(parents=True, exist_ok=True)
    sdists = sorted(OUT.glob("gtfs_kit-*.tar.gz"))
    if not sdists:
        import gtfs_kit

        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                               "--no-binary", ":all:", f"gtfs-kit=={gtfs_kit.__version__}", "-d", str(OUT)],
                              capture_output=True, text=True)
        sdists = sorted(OUT.glob("gtfs_kit-*.tar.gz"))
        if proc.returncode != 0 or not sdists:
            return None
    with tarfile.open(sdists[-1]) as tf:
        member = next((m for m in tf.getmembers() if m.name.endswith(f"data/{name}")), None)
        if member is None:
            return None
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.write_bytes(tf.extractfile(member).read())
        tmp.replace(dest)
    return dest


def _read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {Path(i.filename).name: zf.read(i) for i in zf.infolist() if i.filename.endswith(".txt")}


def _table(data: bytes) -> pa.Table:
    names = pacsv.read_csv(io.BytesIO(data.split(b"\n", 1)[0] + b"\n")).column_names
    names = [n.strip().lstrip("\ufeff") for n in names]
    return pacsv.read_csv(io.BytesIO(data), read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                          convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                               strings_can_be_null=False))


def _seconds(col: pa.Array) -> np.ndarray:
    parts = pc.split_pattern(pc.utf8_trim_whitespace(col), ":")
    ok = pc.equal(pc.list_value_length(parts), 3).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(pc.filter(parts, ok))
    v = flat.to_numpy(zero_copy_only=False).astype(np.int64).reshape(-1, 3)
    out = np.full(len(col), -1, dtype=np.int64)
    out[ok] = v[:, 0] * 3600 + v[:, 1] * 60 + v[:, 2]
    return out


def _hms(sec: np.ndarray) -> pa.Array:
    """Seconds to ``HH:MM:SS`` (negative: blank), vectorised through a byte matrix."""
    s = np.where(sec < 0, 0, sec)
    h, m, x = s // 3600, s % 3600 // 60, s % 60
    b = np.empty((len(s), 8), dtype=np.uint8)
    b[:, 0], b[:, 1] = 48 + h // 10 % 10, 48 + h % 10
    b[:, 2] = b[:, 5] = ord(":")
    b[:, 3], b[:, 4] = 48 + m // 10, 48 + m % 10
    b[:, 6], b[:, 7] = 48 + x // 10, 48 + x % 10
    arr = pa.array(b.view("S8").ravel(), type=pa.binary(8)).cast(pa.binary()).cast(pa.string())
    return pc.if_else(pa.array(sec < 0), pa.scalar(""), arr)


def _csv(table: pa.Table) -> bytes:
    """CSV without quotes (as feeds are usually written) unless a value needs them."""
    for style in ("none", "needed"):
        buf = io.BytesIO()
        try:
            pacsv.write_csv(table, buf, write_options=pacsv.WriteOptions(quoting_style=style,
                                                                         include_header=False))
        except pa.ArrowInvalid:
            continue
        return (",".join(table.column_names) + "\n").encode() + buf.getvalue()
    raise AssertionError("unreachable")


def _zip(dest: Path, files: dict[str, bytes]) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    tmp.replace(dest)


def _copies(col: pa.Array, copies: int) -> pa.Array:
    return pa.concat_arrays([pc.binary_join_element_wise(col, pa.scalar(f"~{k}"), "") if k else col
                             for k in range(copies)])


def replicate(base: Path, dest: Path, copies: int, *, shift_s: int = 97) -> Path:
    """Replicate a timetable feed ``copies`` times (new trip ids, times shifted)."""
    tag = f"replicate:{base.name}:{base.stat().st_size}:{copies}:{shift_s}"
    if _fresh(dest, tag):
        return dest
    files = _read_members(base)
    st = _table(files["stop_times.txt"])
    n = st.num_rows
    cols = {}
    shift = np.repeat((np.arange(copies) * shift_s) % 1800, n)
    for name in st.column_names:
        col = st.column(name).combine_chunks()
        if name == "trip_id":
            cols[name] = _copies(col, copies)
        elif name in ("arrival_time", "departure_time"):
            sec = np.tile(_seconds(col), copies)
            cols[name] = _hms(np.where(sec < 0, -1, sec + shift))
        else:
            cols[name] = pa.concat_arrays([col] * copies)
    files["stop_times.txt"] = _csv(pa.table(cols))
    trips = _table(files["trips.txt"])
    tcols = {name: (_copies(trips.column(name).combine_chunks(), copies) if name == "trip_id"
                    else pa.concat_arrays([trips.column(name).combine_chunks()] * copies))
             for name in trips.column_names}
    files["trips.txt"] = _csv(pa.table(tcols))
    files.pop("shapes.txt", None)  # not used by either side; keeps the zip small
    dest.parent.mkdir(parents=True, exist_ok=True)
    _zip(dest, files)
    _stamp(dest, tag)
    return dest


def replicate_frequencies(base: Path, dest: Path, copies: int, *, shift_s: int = 113) -> Path:
    """Replicate a frequency-based feed's templates and frequencies ``copies`` times."""
    tag = f"freq:{base.name}:{base.stat().st_size}:{copies}:{shift_s}"
    if _fresh(dest, tag):
        return dest
    files = _read_members(base)
    st = _table(files["stop_times.txt"])
    files["stop_times.txt"] = _csv(pa.table({
        name: (_copies(st.column(name).combine_chunks(), copies) if name == "trip_id"
               else pa.concat_arrays([st.column(name).combine_chunks()] * copies))
        for name in st.column_names}))
    trips = _table(files["trips.txt"])
    files["trips.txt"] = _csv(pa.table({
        name: (_copies(trips.column(name).combine_chunks(), copies) if name == "trip_id"
               else pa.concat_arrays([trips.column(name).combine_chunks()] * copies))
        for name in trips.column_names}))
    fr = _table(files["frequencies.txt"])
    n = fr.num_rows
    shift = np.repeat((np.arange(copies) * shift_s) % 900, n)
    fcols = {}
    for name in fr.column_names:
        col = fr.column(name).combine_chunks()
        if name == "trip_id":
            fcols[name] = _copies(col, copies)
        elif name in ("start_time", "end_time"):
            sec = np.tile(_seconds(col), copies)
            fcols[name] = _hms(np.where(sec < 0, -1, sec + shift))
        else:
            fcols[name] = pa.concat_arrays([col] * copies)
    files["frequencies.txt"] = _csv(pa.table(fcols))
    dest.parent.mkdir(parents=True, exist_ok=True)
    _zip(dest, files)
    _stamp(dest, tag)
    return dest


def big_timetable_feed(min_rows: int = 3_400_000) -> tuple[Path, str]:
    """The >= 3M stop_times replica and a description of its base."""
    nyc = gtfs_kit_sample("nyc_subway_gtfs.zip")
    if nyc is not None:
        base, label, rows = nyc, "gtfs-kit NYC subway sample", 86_150
    else:
        base, label, rows = ROOT / "data" / "cities" / "hangzhou" / "gtfs.zip", "Hangzhou sample", 336_968
    copies = -(-min_rows // rows)
    dest = OUT / f"replica_{base.stem}_x{copies}.zip"
    return replicate(base, dest, copies), f"{label} x{copies}"


def big_frequency_feed(copies: int = 6) -> tuple[Path, str]:
    base = ROOT / "data" / "cities" / "santiago" / "gtfs.zip"
    dest = OUT / f"freq_santiago_x{copies}.zip"
    return replicate_frequencies(base, dest, copies), f"Santiago templates x{copies}"


if __name__ == "__main__":
    for p, label in (big_timetable_feed(), big_frequency_feed()):
        print(p, label)
