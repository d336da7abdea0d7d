"""The repository's packages, in dependency order (leaves first)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES_DIR = ROOT / "packages"


def package_dirs() -> list[Path]:
    """Every package folder, ordered so each comes after what it depends on."""
    dirs = {p.name: p for p in PACKAGES_DIR.iterdir() if (p / "pyproject.toml").is_file()}
    dist_to_dir = {distribution(p): name for name, p in dirs.items()}
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for dep in corolla_dependencies(dirs[name]):
            visit(dist_to_dir[dep])
        ordered.append(name)

    for name in sorted(dirs):
        visit(name)
    return [dirs[n] for n in ordered]


def _project(path: Path) -> dict[str, object]:
    with (path / "pyproject.toml").open("rb") as f:
        project: dict[str, object] = tomllib.load(f)["project"]
    return project


def distribution(path: Path) -> str:
    return str(_project(path)["name"])


def corolla_dependencies(path: Path) -> list[str]:
    """Distribution names of the corolla packages this one depends on."""
    deps = _project(path).get("dependencies", [])
    assert isinstance(deps, list)
    names = []
    for dep in deps:
        name = str(dep).split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip()
        if name.startswith("corolla"):
            names.append(name)
    return names


def closure(folder: str) -> list[Path]:
    """The package folder and every package it depends on, in install order."""
    by_dist = {distribution(p): p for p in package_dirs()}
    wanted: set[str] = set()

    def visit(path: Path) -> None:
        dist = distribution(path)
        if dist in wanted:
            return
        wanted.add(dist)
        for dep in corolla_dependencies(path):
            visit(by_dist[dep])

    visit(PACKAGES_DIR / folder)
    return [p for p in package_dirs() if distribution(p) in wanted]
