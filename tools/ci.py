"""Run every check CI runs, in order, stopping at the first failure.

lint, types, news fragments, docs, CPython's asyncio tests with corolla
swapped in on 3.11 (stage conformance), then the test suite editable (pure
Python) on 3.11, 3.12 and 3.13 (on 3.12 and 3.13 each followed by CPython's
asyncio tests of that version: conformance-py3.12, conformance-py3.13, in
the matrix environment the test stage before it made), and as mypyc-compiled
wheels on 3.13 and 3.11, with CPython's asyncio tests again on those compiled
wheels: conformance-compiled-py3.13 after the compiled 3.13 tests,
conformance-compiled-py3.11 before the compiled 3.11 tests, both on the wheels
stage install-compiled built (so ``tools/ci.py test-compiled`` alone tests
what the compiled environment has installed). (Compiled 3.12 is not built here: a build of
every package takes about four minutes on a 2-core machine; the GitHub
workflow's integration job runs the compiled conformance on 3.11-3.13.)
The conformance stages compare with tests-integration/conformance/baseline.json
(on compiled wheels with its X.Y-compiled counts laid over X.Y's). The
compiled 3.11 test suite comes last, so pytest's summary closes the output.
Each stage's duration is printed.

  python tools/ci.py            all stages
  python tools/ci.py --list     the stage names
  python tools/ci.py STAGE ...  only those stages
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from repo import ROOT

HATCH = [sys.executable, "-m", "hatch"] if shutil.which("hatch") is None else ["hatch"]

STAGES: list[tuple[str, list[str]]] = [
    ("lint", [*HATCH, "run", "lint"]),
    ("types", [*HATCH, "run", "types"]),
    ("news", [*HATCH, "run", "news", "--check-all"]),
    ("docs", [*HATCH, "run", "docs:build", "-q"]),
    ("conformance", [*HATCH, "run", "conformance", "--ci"]),
    ("test-pure", [*HATCH, "run", "test"]),
    ("test-pure-py3.12", [*HATCH, "run", "all.py3.12:test", "-q"]),
    ("conformance-py3.12", [*HATCH, "run", "all.py3.12:conformance", "--ci", "--python", "3.12"]),
    ("test-pure-py3.13", [*HATCH, "run", "all.py3.13:test", "-q"]),
    ("conformance-py3.13", [*HATCH, "run", "all.py3.13:conformance", "--ci", "--python", "3.13"]),
    ("test-compiled-py3.13", [*HATCH, "run", "all-compiled.py3.13:test", "-q"]),
    # On the compiled wheels the stage before installed: what users run.
    (
        "conformance-compiled-py3.13",
        [*HATCH, "run", "all-compiled.py3.13:conformance", "--ci", "--python", "3.13"],
    ),
    # Build and install the compiled 3.11 wheels once, for the two stages after it.
    ("install-compiled", [*HATCH, "run", "compiled:install"]),
    ("conformance-compiled-py3.11", [*HATCH, "run", "compiled:conformance", "--ci"]),
    ("test-compiled", [*HATCH, "run", "compiled:pytest"]),
]


def main(argv: list[str]) -> int:
    names = [name for name, _ in STAGES]
    if "--list" in argv:
        print("\n".join(names))
        return 0
    unknown = [a for a in argv if a not in names]
    if unknown:
        print(f"unknown stage(s): {', '.join(unknown)}; stages: {', '.join(names)}")
        return 2
    env = dict(os.environ)
    # The stages pick their own hatch environments; don't leak the caller's.
    for var in ("HATCH_ENV_ACTIVE", "VIRTUAL_ENV", "COROLLA_EXPECT_COMPILED", "COROLLA_PURE"):
        env.pop(var, None)
    timings = []
    for name, cmd in STAGES:
        if argv and name not in argv:
            continue
        print(f"\n===== {name}: {' '.join(cmd)}", flush=True)
        start = time.monotonic()
        rc = subprocess.call(cmd, cwd=ROOT, env=env)
        timings.append(f"{name} {time.monotonic() - start:.0f}s")
        if rc:
            print(f"\n===== {name} FAILED (exit {rc}); timings: {', '.join(timings)}")
            return rc
    print(f"\n===== timings: {', '.join(timings)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
