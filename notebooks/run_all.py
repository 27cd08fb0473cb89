#!/usr/bin/env python3
"""Execute every notebooks/*.ipynb against a run directory; exit non-zero if any notebook fails.

    python3 notebooks/run_all.py RUN_DIR [--out OUTDIR] [--timeout SECONDS] [--only GLOB]

Each notebook runs in a fresh python3 kernel, with its working directory set to notebooks/ and the environment
variable DISTILLERY_RUN set to the absolute RUN_DIR (the notebooks' first code cell reads it). Executed copies,
with their outputs, are written to OUTDIR (default: a new temporary directory); the notebooks in notebooks/ are
never modified. --only GLOB runs only the notebooks whose file name matches (e.g. '05-*' for an LM run).
One line is printed per notebook: "ok" or "FAILED", and the seconds it took.

Exit codes: 0 all notebooks ran, 1 at least one failed, 2 bad arguments, 3 jupyter/nbconvert not installed.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOKS_DIR = Path(__file__).resolve().parent


def main(argv=None):
    parser = argparse.ArgumentParser(description="Execute the distillery notebooks against a run directory.")
    parser.add_argument("run_dir", help="a pipeline run directory, e.g. runs/demo")
    parser.add_argument("--out", help="directory for the executed notebooks (default: a new temporary directory)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell (default 300)")
    parser.add_argument("--only", default="*.ipynb", help="run only the notebooks matching this file-name glob")
    args = parser.parse_args(argv)

    try:
        import nbformat
        from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor
    except ImportError as e:
        print(f"run_all: jupyter/nbconvert is not importable ({e}); "
              f"install with: python3 -m pip install -r notebooks/requirements.txt", file=sys.stderr)
        return 3

    run_dir = Path(args.run_dir).expanduser().resolve()
    if not run_dir.is_dir():
        print(f"run_all: run directory {run_dir} does not exist", file=sys.stderr)
        return 2
    out_dir = Path(args.out).expanduser().resolve() if args.out else Path(tempfile.mkdtemp(prefix="distillery-nb-"))
    if out_dir == NOTEBOOKS_DIR:
        print("run_all: --out must not be notebooks/ itself (the committed notebooks stay output-free)",
              file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)

    notebooks = sorted(p for p in NOTEBOOKS_DIR.glob("*.ipynb") if p.match(args.only))
    if not notebooks:
        print(f"run_all: no notebooks matching {args.only} in {NOTEBOOKS_DIR}", file=sys.stderr)
        return 2

    # The kernel inherits this process's environment.
    os.environ["DISTILLERY_RUN"] = str(run_dir)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    print(f"run_all: {len(notebooks)} notebooks against {run_dir}; executed copies in {out_dir}")

    failures = 0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        executor = ExecutePreprocessor(timeout=args.timeout, kernel_name="python3")
        started = time.monotonic()
        error = None
        try:
            executor.preprocess(nb, {"metadata": {"path": str(NOTEBOOKS_DIR)}})
        except CellExecutionError as e:
            error = str(e)
        except Exception as e:  # kernel died, timeout, ...
            error = f"{type(e).__name__}: {e}"
        seconds = time.monotonic() - started
        target = out_dir / path.name
        nbformat.write(nb, target)
        if error is None:
            print(f"ok      {path.name:<32} {seconds:6.1f} s")
        else:
            failures += 1
            print(f"FAILED  {path.name:<32} {seconds:6.1f} s  (executed copy: {target})")
            print("\n".join("        " + line for line in error.strip().splitlines()[-15:]), file=sys.stderr)
        sys.stdout.flush()

    print(f"run_all: {len(notebooks) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
