"""Release helper.

python tools/release.py locate TAG        for a tag "<distribution>-v<version>":
                                          prints folder=, version=, modules= lines
                                          (GitHub output format), after checking the
                                          version in the package's pyproject.toml
python tools/release.py check-compiled M  imports each module M and fails unless its
                                          COMPILED flag is true
"""

from __future__ import annotations

import importlib
import sys
import tomllib

from repo import package_dirs


def locate(tag: str) -> int:
    if "-v" not in tag:
        print(f"tag {tag!r} is not <distribution>-v<version>", file=sys.stderr)
        return 1
    dist, _, version = tag.rpartition("-v")
    for folder in package_dirs():
        with (folder / "pyproject.toml").open("rb") as f:
            project = tomllib.load(f)["project"]
        if project["name"] != dist:
            continue
        if project["version"] != version:
            declared = project["version"]
            print(f"{dist}: pyproject says {declared}, tag says {version}", file=sys.stderr)
            return 1
        modules = sorted(
            f"corolla.{p.name}" for p in (folder / "src" / "corolla").iterdir() if p.is_dir()
        )
        print(f"folder={folder.name}")
        print(f"version={version}")
        print(f"modules={' '.join(modules)}")
        return 0
    print(f"no package is distributed as {dist!r}", file=sys.stderr)
    return 1


def check_compiled(modules: list[str]) -> int:
    failed = [m for m in modules if not importlib.import_module(m).COMPILED]
    for m in modules:
        print(f"{m}: {'not ' if m in failed else ''}compiled")
    return 1 if failed or not modules else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "locate":
        return locate(argv[1])
    if argv and argv[0] == "check-compiled":
        return check_compiled(argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
