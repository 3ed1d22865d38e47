"""CLI start-up: wall time of typical commands, this checkout against a baseline checkout.

Each command runs in a fresh interpreter (``python -m api …``, as the
``partner-assistant`` entry point does) so that imports and model loading are counted. The
baseline is another checkout of the repository (by default ``/work/main``, the code before the
start-up work) run with the same interpreter on the same store in the same run, so both columns
see the same machine load; runs alternate between the two checkouts.

Commands: ``--help``, ``stats``, a ``search``, a ``search`` with a bad ``--tier`` (should fail
before anything heavy is loaded) and ``stats`` on a missing store.

    .venv/bin/python benchmarks/cli_startup.py                    # baseline /work/main, 3 runs
    .venv/bin/python benchmarks/cli_startup.py --baseline ../other-checkout --runs 5
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def run_cli(checkout: Path, args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, less sensitive to a busy machine) and exit
    code of one CLI run from ``checkout`` (its code wins on sys.path)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "api", *args],
        cwd=checkout,
        env=ENV,
        capture_output=True,
        timeout=600,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=Path("/work/main"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "store")
        seconds, _, code = run_cli(REPO, ["--store", store, "ingest", str(REPO / "data")])
        assert code == 0, "ingest failed"
        print(f"store: sample corpus ingested in {seconds:.1f} s")
        missing = Path(tmp) / "missing"  # a fresh folder per run: a run may create a store
        commands = {
            "--help": ["--help"],
            "stats": ["--store", store, "stats"],
            "search": ["--store", store, "search", "deal registration", "--tier", "gold"],
            "search --tier diamond (bad)": ["--store", store, "search", "x", "--tier", "diamond"],
            "stats, missing store": ["--store", "{missing}", "stats"],
        }
        checkouts = {"baseline": args.baseline.resolve(), "this": REPO}
        print(f"baseline: {checkouts['baseline']}  this: {REPO}  runs: {args.runs} (median)")
        print(
            f"{'command':30} {'baseline wall/cpu s':>20} {'exit':>5} {'this wall/cpu s':>16} "
            f"{'exit':>5}"
        )
        runs = 0
        for name, argv in commands.items():
            times: dict[str, list[float]] = {"baseline": [], "this": []}
            cpus: dict[str, list[float]] = {"baseline": [], "this": []}
            codes: dict[str, int] = {}
            for _ in range(args.runs):
                for label, checkout in checkouts.items():
                    runs += 1
                    fresh = [a.replace("{missing}", str(missing / str(runs))) for a in argv]
                    seconds, cpu, codes[label] = run_cli(checkout, fresh)
                    times[label].append(seconds)
                    cpus[label].append(cpu)
            base = f"{statistics.median(times['baseline']):.2f} / {statistics.median(cpus['baseline']):.2f}"
            this = f"{statistics.median(times['this']):.2f} / {statistics.median(cpus['this']):.2f}"
            print(f"{name:30} {base:>20} {codes['baseline']:5d} {this:>16} {codes['this']:5d}")


if __name__ == "__main__":
    main()
