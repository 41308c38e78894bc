"""Write the course notebook as .ipynb, and a copy executed in a Jupyter kernel.

Purpose: ``make notebook`` (``python -m kvbound.course.run_notebook``). Reads the
jupytext source docs/course/notebook.py, writes OUT/notebook.ipynb (to run), executes a
copy cell by cell in an IPython kernel with nbclient (the ``[course]`` extra), printing
which cell runs, and writes OUT/executed.ipynb, whose figure cells show their images.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["write_notebooks", "main"]

SOURCE = Path("docs/course/notebook.py")


def write_notebooks(source: Path, out: Path, *, quiet: bool = False) -> list[Path]:
    """Write ``out/notebook.ipynb`` and the executed ``out/executed.ipynb``."""
    import jupytext
    import nbclient
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    plain = out / "notebook.ipynb"
    nbformat.write(notebook, plain)
    executed = out / "executed.ipynb"
    client = nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(source.parent)}})
    code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    start = time.monotonic()
    with client.setup_kernel():
        for k, index in enumerate(code):
            if not quiet:
                first = notebook.cells[index].source.strip().splitlines()[:1]
                print(f"notebook [{time.monotonic() - start:5.1f}s] cell {k + 1} of "
                      f"{len(code)}: {first[0][:60] if first else ''}", file=sys.stderr,
                      flush=True)
            client.execute_cell(notebook.cells[index], index)
    nbformat.write(notebook, executed)
    return [plain, executed]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvbound.course.run_notebook",
                                     description=__doc__)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    plain, executed = write_notebooks(args.source, args.out, quiet=args.quiet)
    print(f"wrote {plain} (to run) and {executed} (run, figures included): open either "
          "with Jupyter")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
