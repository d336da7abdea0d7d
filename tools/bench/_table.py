"""What every benchmark module shares: the impl names and the table it prints when run alone."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

IMPLS = ("stdlib", "corolla", "uvloop")

Benchmark = tuple[str, Callable[[str], float]]


def print_table(corolla_module: str, benchmarks: list[Benchmark]) -> None:
    """Run every benchmark for every impl; print ops/s and the corolla/stdlib, /uvloop ratios."""
    try:
        compiled: object = importlib.import_module(corolla_module).COMPILED
    except ImportError:
        compiled = "not installed"
    print(f"python {sys.version.split()[0]}, {corolla_module} compiled: {compiled}")
    print(
        f"{'benchmark':<26}" + "".join(f"{i:>14}" for i in IMPLS)
        + f"{'corolla/stdlib':>16}{'corolla/uvloop':>16}"
    )  # fmt: skip
    for name, run in benchmarks:
        results = {impl: run(impl) for impl in IMPLS}
        cells = "".join(f"{results[i]:>14,.1f}" for i in IMPLS)
        vs_stdlib = results["corolla"] / results["stdlib"]
        vs_uvloop = results["corolla"] / results["uvloop"]
        print(f"{name:<26}{cells}{vs_stdlib:>16.2f}{vs_uvloop:>16.2f}", flush=True)
