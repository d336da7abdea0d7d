"""Check one package on its own, in a throwaway virtual environment.

Usage: python tools/check_package.py FOLDER [--pure] [--python 3.12] [--with-loop]
       [-- PYTEST ARGS]

Builds FOLDER and the corolla packages it depends on as regular wheels
(compiled with mypyc unless --pure), installs them into a fresh venv under
/tmp, and runs FOLDER's tests there, with COROLLA_EXPECT_COMPILED set so the
build-flag test checks that the build is what was asked for. Several of these
can run at once (one venv per package and mode).

The leaf packages run their tests on the corolla loop too when it is
installed; ``--with-loop`` also builds loop-core (and what it needs) into the
venv so those tests run instead of being skipped. It is not a dependency of
the package, so it is not installed by default.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from repo import PACKAGES_DIR, ROOT

TEST_DEPS = ["pytest>=8", "pytest-timeout", "hypothesis", "trustme", "uvloop"]
BUILD_DEPS = ["hatchling>=1.27", "mypy>=2.4", "setuptools>=70"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--pure", action="store_true")
    parser.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}")
    parser.add_argument("--with-loop", action="store_true", help="also install loop-core")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    if not (PACKAGES_DIR / args.folder / "pyproject.toml").is_file():
        parser.error(f"no package folder packages/{args.folder}")
    mode = "pure" if args.pure else "compiled"
    suffix = "-with-loop" if args.with_loop else ""
    venv = (
        Path(tempfile.gettempdir()) / f"corolla-check-{args.folder}-{mode}-py{args.python}{suffix}"
    )
    python = venv / "bin" / "python"
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["COROLLA_EXPECT_COMPILED"] = "0" if args.pure else "1"
    if args.pure:
        env["COROLLA_PURE"] = "1"
    else:
        env.pop("COROLLA_PURE", None)
    if not python.exists():
        interpreter = f"python{args.python}"
        subprocess.check_call([interpreter, "-m", "venv", str(venv)], env=env)
        subprocess.check_call(
            [str(python), "-m", "pip", "install", "-q", *TEST_DEPS, *BUILD_DEPS], env=env
        )
    # The shared test fixtures (tools/testing), reinstalled each run as they change.
    subprocess.check_call(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
         str(ROOT / "tools" / "testing")],
        env=env,
    )  # fmt: skip
    folders = [args.folder, "loop-core"] if args.with_loop else [args.folder]
    rc = subprocess.call(
        [str(python), str(ROOT / "tools" / "install_packages.py"), *folders], env=env
    )
    if rc:
        return rc
    return subprocess.call(
        [str(python), "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(ROOT), str(PACKAGES_DIR / args.folder / "tests"), *args.pytest_args],
        env=env, cwd=tempfile.gettempdir(),
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
