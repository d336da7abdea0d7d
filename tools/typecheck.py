"""mypy --strict over every package's sources and tests (config: pyproject.toml).

Each package is checked as its own run so that the identically named test
modules of different packages do not collide.
"""

from __future__ import annotations

import os
import subprocess
import sys

from repo import ROOT, package_dirs


def main(argv: list[str]) -> int:
    failed = []
    for pkg in package_dirs():
        targets = [str(p) for p in (pkg / "src", pkg / "tests") if p.is_dir()]
        print(f"mypy --strict packages/{pkg.name}", flush=True)
        rc = subprocess.call(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
             *argv, *targets], cwd=ROOT)  # fmt: skip
        if rc:
            failed.append(pkg.name)
    # The repository's own scripts and the integration tests, as one run each.
    for extra in ("tools", "tests-integration"):
        print(f"mypy --strict {extra}", flush=True)
        # tools/ and tools/bench/ scripts import their neighbours as top-level modules.
        tools = os.pathsep.join([str(ROOT / "tools"), str(ROOT / "tools" / "bench")])
        env = {**os.environ, "MYPYPATH": tools} if extra == "tools" else None
        rc = subprocess.call(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
             *argv, extra], cwd=ROOT, env=env)  # fmt: skip
        if rc:
            failed.append(extra)
    if failed:
        print("mypy failed for:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
