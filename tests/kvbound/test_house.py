"""The house's promises to its users: typed errors and their exit codes, the version, the
Python API for notebooks, and commands that write under out/ by default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kvbound
from caches.exact import ExactCache
from kvbound.cli import main
from kvbound.exit_codes import EXIT_BUG, EXIT_CACHE_FAILED


class ToBytesRaisesValueError(ExactCache):
    """A cache whose ``to_bytes`` raises a plain ValueError: its fault, not a typo."""

    def to_bytes(self) -> bytes:
        raise ValueError("this cache cannot serialise itself")


def test_a_cache_raising_value_error_is_a_cache_fault_not_bad_input(
        capsys: pytest.CaptureFixture[str]) -> None:
    spec = f"{__name__}:ToBytesRaisesValueError"
    code = main(["verify", "--schedule", "1,2,3", "--d", "32", "--cache", spec, "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_CACHE_FAILED
    assert "ToBytesRaisesValueError" in err and "cannot serialise itself" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_bug_in_kvbound_is_exit_1_and_says_so(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import kvbound.commands.verify as verify_command

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("an internal slip")  # a plain ValueError is not bad input

    monkeypatch.setattr(verify_command, "run_verification", broken)
    code = main(["verify", "--schedule", "1,2,3", "--d", "32", "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_BUG
    assert "this is a bug in kvbound" in err and "Traceback" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"kvbound {kvbound.__version__}"


def test_verify_from_a_notebook_with_a_class_defined_there() -> None:
    class NotebookCache(ExactCache):  # defined in a cell: no worker can import it
        pass

    r = kvbound.verify(cache=NotebookCache, schedule="1,2,3", d=32, seeds=1)
    assert r.bit_errors == 0 and r.instance_bits == 160
    assert r.message_bits >= r.instance_bits
    assert r.to_json()["instance_bits"] == 160


def test_verify_with_an_importable_class_runs_it_in_the_workers() -> None:
    r = kvbound.verify(cache=ToBytesRaisesValueError.__mro__[1], schedule="1,2,3", d=32)
    assert r.public.cache == "caches.exact:ExactCache" and r.bit_errors == 0


def test_verify_by_name_and_json_agree_with_the_command_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    r = kvbound.verify("exact", schedule="1,2,3", d=32)
    assert main(["verify", "--schedule", "1,2,3", "--d", "32", "--json", "--quiet"]) == 0
    import json

    cli = json.loads(capsys.readouterr().out)
    assert {k: cli[k] for k in ("instance_bits", "message_bits", "bit_errors")} == {
        "instance_bits": r.instance_bits, "message_bits": r.message_bits,
        "bit_errors": r.bit_errors}


def test_constants_api_matches_the_record() -> None:
    c = kvbound.constants("var-256", 64)
    assert (c["cached_tokens"], c["n_bits"]) == (424, 424 * 64)


def test_bad_cache_argument_is_invalid_argument() -> None:
    with pytest.raises(ValueError, match="registered name"):
        kvbound.verify(cache=3)  # type: ignore[arg-type]


def test_structure_writes_under_out_by_default(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = main(["structure", "--variant", "s3", "--schedule", "1,2,3,4", "--d", "16",
                     "--caches", "window", "--no-plot"])
    finally:
        os.chdir(cwd)
    assert code == 0
    assert (tmp_path / "out" / "structure-s3.json").is_file()
    assert not list(tmp_path.glob("structure-*"))
