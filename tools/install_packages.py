"""Install packages as regular (non-editable) wheel builds into this interpreter.

Usage: python tools/install_packages.py [FOLDER ...]

With no folder, every package is installed. Each build compiles with mypyc
unless COROLLA_PURE=1 is set. Builds run without isolation, so the current
environment must have hatchling, mypy and setuptools (the hatch `compiled`
environment does).

The packages being built are uninstalled first: mypyc's type check runs in
this environment, and an older installed copy of a package could otherwise
shadow parts of the source being compiled (seen with a package's
``_api/__init__.py``, which named a class the old copy did not have).
"""

from __future__ import annotations

import subprocess
import sys

from repo import closure, distribution, package_dirs


def main(argv: list[str]) -> int:
    if argv:
        dirs = []
        for folder in argv:
            dirs += [d for d in closure(folder) if d not in dirs]
    else:
        dirs = package_dirs()
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
        "--no-build-isolation", "--no-cache-dir", *(str(d) for d in dirs),
    ]  # fmt: skip
    print("installing:", ", ".join(d.name for d in dirs), flush=True)
    subprocess.call(
        [sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes",
         *(distribution(d) for d in dirs)],
        stderr=subprocess.DEVNULL,  # "not installed" warnings on a fresh env
    )  # fmt: skip
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
