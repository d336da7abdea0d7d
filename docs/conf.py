"""Sphinx configuration: one site for every corolla package."""

from __future__ import annotations

project = "corolla"
author = "The corolla developers"
copyright = "2026, The corolla developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx.ext.napoleon"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["ref.python"]


def _skip_stdlib_reexports(  # noqa: PLR0917 (the signature Sphinx calls)
    app: object, what: str, name: str, obj: object, skip: bool, options: object
) -> bool | None:
    """Names a package re-exports from the stdlib's asyncio (the shared
    exceptions and interfaces) are documented by Python, not here."""
    module = getattr(obj, "__module__", None) or ""
    if module == "asyncio" or module.startswith("asyncio."):
        return True
    return None


def setup(app: object) -> None:
    app.connect("autodoc-skip-member", _skip_stdlib_reexports)  # type: ignore[attr-defined]
