"""Inputs that once cost gigabytes, tracebacks or blamed an honest cache: now one line.

Each case goes through the command line (``kvbound.cli.main``) and ends in exit code 2
with one line naming the value and the limit, before any work: a deadline too short to
start a worker, a message limit of zero, a schedule or a d whose run cannot fit, a fuzz
count beyond reason, an output path that is a device, a blueprint that is a directory
or an endless device. ``--logit-cap`` far above any C a run needs is not an error: it
never binds, and the run is the theorem's (deciding that once took gigabytes of exact
rationals of e^-B). ``load_instance`` has no command of its own; it is tested directly.
"""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy

from kvbound.cli import main
from kvbound.exit_codes import EXIT_BAD_INPUT
from lowerbound.validation import InvalidArgument
from reduction.instance import load_instance, make_instance, save_instance

TINY = ["--schedule", "1,2,4", "--d", "32", "--quiet"]
REFUSED = [
    (["verify", *TINY, "--timeout", "1e-9"], "--timeout=1e-09 must be a number of seconds"),
    (["attack", *TINY, "--timeout", "0.5", "--no-plot"], "--timeout=0.5"),
    (["check-cache", "exact", "--timeout", "1e-9"], "--timeout=1e-09"),
    (["verify", *TINY, "--max-message-bytes", "0"], "--max-message-bytes=0 must lie in"),
    (["verify", *TINY, "--out", "/dev/full"], "--out=/dev/full exists and is not a regular"),
    (["verify", *TINY, "--report", "/dev/full"], "--report=/dev/full exists and is not"),
    (["check-cache", "exact", "--fuzz", "999999999999"], "--fuzz=999999999999 exceeds"),
    (["check-cache", "exact", "--schedule", "1,100000000"], "schedule 1,100000000"),
    (["structure", "--d", "100000000", "--no-plot"], "with d=100000000 needs about"),
    (["proofs", "--check-blueprint", "/dev/zero"], "--check-blueprint=/dev/zero is not a"),
    (["proofs", "--check-blueprint", "/"], "--check-blueprint=/ is not a regular file"),
]


@pytest.mark.parametrize("argv,message", REFUSED, ids=[" ".join(a[:4]) for a, _ in REFUSED])
def test_refused_up_front_in_one_line(argv: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    tracemalloc.start()
    start = time.process_time()
    try:
        code = main(argv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    spent = time.process_time() - start
    err = capsys.readouterr().err.strip()
    assert code == EXIT_BAD_INPUT, err
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert peak < 256 << 20  # nothing of the size asked for was allocated
    assert spent < 60  # CPU seconds: refused before the work (the proofs take minutes)


@pytest.mark.parametrize("cap", ["1e9", "1e15", "1e300"])
def test_a_logit_cap_that_never_binds_runs_the_theorem(
        cap: str, capsys: pytest.CaptureFixture[str]) -> None:
    tracemalloc.start()
    try:
        code = main(["verify", *TINY, "--isolation", "inline", "--logit-cap", cap, "--json"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    assert code == 0, err
    record = json.loads(out)
    assert record["low_dimension"]["regime"] == "theorem"
    assert record["logits"]["logit_cap_respected"] is True
    assert peak < 256 << 20


def _with_member(good: Path, out: Path, name: str, shape: tuple[int, ...], dtype: str,
                 data: bytes) -> None:
    """A copy of ``good`` whose member ``name`` has another .npy header and data."""
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for member in src.namelist():
            raw = src.read(member)
            if member == f"{name}.npy":
                header = io.BytesIO()
                npy.write_array_header_1_0(
                    header, {"descr": dtype, "fortran_order": False, "shape": shape})
                raw = header.getvalue() + data
            dst.writestr(member, raw)


@pytest.mark.parametrize("name,shape,dtype", [
    ("queries", (1 << 31,), "<i8"),  # 16 GiB announced, 64 MiB of zeros deflated to 65 KB
    ("packed_bits", (1 << 40,), "|u1"),
    ("format", (), "<U100000000"),
    ("shape", (3,), "<i8"),
])
def test_an_instance_file_is_checked_before_anything_is_allocated(
        tmp_path: Path, name: str, shape: tuple[int, ...], dtype: str) -> None:
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    save_instance(good, make_instance(4, 8, 0, num_queries=3))
    _with_member(good, bad, name, shape, dtype, bytes(64 << 20))
    assert bad.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(InvalidArgument, match=name):
            load_instance(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # the file's 66 KB, decompressed not past the header
    assert load_instance(good).n_bits == 32


def test_an_instance_path_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    for path in (tmp_path, Path("/dev/zero")):
        with pytest.raises(InvalidArgument, match="not a regular file"):
            load_instance(path)
    extra = tmp_path / "extra.npz"
    save_instance(extra, make_instance(4, 8, 0))
    with zipfile.ZipFile(extra, "a") as z:
        z.writestr("payload.npy", np.zeros(1).tobytes())
    with pytest.raises(InvalidArgument, match="holds members"):
        load_instance(extra)
