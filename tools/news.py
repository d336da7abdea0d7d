"""Render every package's pending news fragments with towncrier (a draft; nothing is written).

python tools/news.py            draft changelog of each package with fragments
python tools/news.py --check-all  fail if towncrier cannot render any package's fragments
"""

from __future__ import annotations

import subprocess
import sys

from repo import package_dirs


def main(argv: list[str]) -> int:
    check = "--check-all" in argv
    failed = []
    for pkg in package_dirs():
        result = subprocess.run(
            [sys.executable, "-m", "towncrier", "build", "--draft", "--version", "next"],
            check=False, cwd=pkg, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode:
            failed.append(pkg.name)
            print(f"== {pkg.name}: towncrier failed\n{result.stdout}{result.stderr}")
        elif not check:
            print(f"== {pkg.name}\n{result.stdout}")
    print(f"towncrier: {len(package_dirs()) - len(failed)} packages rendered, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
