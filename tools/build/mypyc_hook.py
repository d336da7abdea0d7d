"""Hatchling build hook that compiles a corolla package with mypyc.

Every package links ``hatch_build.py`` to this file, so there is one copy of
the build logic for the whole repository.

Rules:

* a regular wheel build compiles every implementation module under ``src/``
  (everything except ``__init__.py``/``__main__.py`` and the modules named in
  the hook's ``exclude`` option) when a C compiler is present;
* ``COROLLA_PURE=1`` in the environment builds the same source uncompiled;
* an editable install never compiles, so no ``.so`` file ever lands beside the
  sources and shadows them.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# 2.4: compiled `await` resumes through PyIter_Send (corolla.tasks relies on it:
# its Task awaits a bare coroutine, which older mypyc would resume through a
# tp_iternext slot that coroutines do not have).
MYPY_REQUIREMENT = "mypy>=2.4"
MYPY_MINIMUM = (2, 4)
SETUPTOOLS_REQUIREMENT = "setuptools>=70"


# mypyc's tp_finalize for a class with __del__ (mypyc 2.4): a bare call.
_MYPYC_FINALIZER = re.compile(
    r"(?P<head>static void\s+\w+_finalize\(PyObject \*self\)\s*\{)"
    r"\s*(?P<call>[\w.]*CPyDef_\w+\(self\);)\s*\}"
)
_FINALIZER_KEEPING_ERRORS = """\\g<head>
    PyObject *corolla_type, *corolla_value, *corolla_tb;
    PyErr_Fetch(&corolla_type, &corolla_value, &corolla_tb);
    \\g<call>
    if (PyErr_Occurred() != NULL) {
        PyErr_WriteUnraisable(self);
    }
    PyErr_Restore(corolla_type, corolla_value, corolla_tb);
}"""


def fix_finalizers(c_dir: Path) -> int:
    """Make mypyc's generated ``tp_finalize`` functions follow the C API's rules.

    A ``tp_finalize`` must save the exception being raised, if any, and
    report an error of its own as unraisable. mypyc's does neither (its own
    deallocator saves the exception, but instances of interpreted
    subclasses, such as corolla's public Future and Task, are freed by
    CPython's): a task freed while an error propagated, say from a
    constructor that failed, ran its ``__del__`` with that error pending and
    replaced it with a bogus ``AttributeError``, and an error raised by a
    ``__del__`` leaked into whatever code ran next. Rewrites the generated C
    in ``c_dir``; returns how many finalizers it fixed.
    """
    fixed = 0
    for source in sorted(c_dir.rglob("*.c")):
        text = source.read_text()
        declared = len(re.findall(r"static void\s+\w+_finalize\(PyObject \*self\)\s*\{", text))
        new_text, count = _MYPYC_FINALIZER.subn(_FINALIZER_KEEPING_ERRORS, text)
        if count != declared:
            raise RuntimeError(
                f"corolla: {source.name}: {declared} tp_finalize functions, {count} of the "
                "shape fix_finalizers knows; mypyc's output changed, check it"
            )
        if count:
            source.write_text(new_text)
            fixed += count
    return fixed


def _pure_requested() -> bool:
    return os.environ.get("COROLLA_PURE", "").strip() not in ("", "0", "false", "no")


def _have_c_compiler() -> bool:
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc")
    return shutil.which(cc.split()[0]) is not None


class CorollaMypycHook(BuildHookInterface):  # type: ignore[type-arg,unused-ignore]
    PLUGIN_NAME = "custom"

    def _should_compile(self, version: str) -> bool:
        return (
            self.target_name == "wheel"
            and version != "editable"
            and not _pure_requested()
            and _have_c_compiler()
        )

    def _sibling_src_dirs(self) -> list[Path]:
        """``src`` folders of the other packages when building inside the repo."""
        packages_dir = Path(self.root).resolve().parent
        own = Path(self.root).resolve()
        return sorted(
            p / "src"
            for p in packages_dir.iterdir()
            if p != own and (p / "src" / "corolla").is_dir() and (p / "pyproject.toml").is_file()
        )

    def dependencies(self) -> list[str]:
        if not self._should_compile("standard"):
            return []
        deps = [MYPY_REQUIREMENT, SETUPTOOLS_REQUIREMENT]
        if not self._sibling_src_dirs():
            # Building outside the repository (from an sdist): mypy needs the
            # corolla packages this one imports, so install them in the build
            # environment.
            deps += [d for d in self.metadata.core.dependencies if d.startswith("corolla")]
        return deps

    def _modules_to_compile(self) -> list[Path]:
        src = Path(self.root) / "src"
        excluded = set(self.config.get("exclude", []))
        found = []
        for path in sorted(src.rglob("*.py")):
            rel = path.relative_to(src).as_posix()
            if path.name in ("__init__.py", "__main__.py") or rel in excluded:
                continue
            found.append(path)
        return found

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if not self._should_compile(version):
            reason = "COROLLA_PURE is set" if _pure_requested() else "pure build"
            self.app.display_info(f"corolla: not compiling ({reason})")
            return
        modules = self._modules_to_compile()
        if not modules:
            return
        # Imported here: the build environment only has them when compiling.
        import mypy.version
        from mypyc.build import mypycify
        from setuptools import Distribution
        from setuptools.command.build_ext import build_ext

        # Builds often run without isolation (tools/install_packages.py): an
        # older mypy in the environment must stop the build, not make a module
        # that crashes (see MYPY_REQUIREMENT).
        version = mypy.version.__version__
        found = tuple(int(part) for part in version.split("+")[0].split(".")[:2])
        if found < MYPY_MINIMUM:
            raise RuntimeError(f"corolla: compiling needs {MYPY_REQUIREMENT}, found mypy {version}")

        root = Path(self.root).resolve()
        work = Path(tempfile.mkdtemp(prefix="corolla-mypyc-"))
        mypy_path = [root / "src", *self._sibling_src_dirs()]
        config = work / "mypy.ini"
        config.write_text(
            "[mypy]\n"
            "strict = True\n"
            "explicit_package_bases = True\n"
            "namespace_packages = True\n"
            f"mypy_path = {os.pathsep.join(str(p) for p in mypy_path)}\n"
        )
        self.app.display_info(f"corolla: compiling {len(modules)} modules with mypyc")
        old_cwd = os.getcwd()
        os.chdir(root)
        try:
            extensions = mypycify(
                ["--config-file", str(config), *(str(m.relative_to(root)) for m in modules)],
                opt_level=os.environ.get("COROLLA_MYPYC_OPT", "3"),
                target_dir=str(work / "c"),
            )
            fixed = fix_finalizers(work / "c")
            self.app.display_info(f"corolla: {fixed} mypyc finalizers keep pending errors")
            distribution = Distribution({"name": self.metadata.name, "ext_modules": extensions})
            command = build_ext(distribution)
            command.build_lib = str(work / "lib")
            command.build_temp = str(work / "tmp")
            command.parallel = os.cpu_count() or 1
            command.ensure_finalized()
            command.run()
        finally:
            os.chdir(old_cwd)

        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        for built in sorted((work / "lib").rglob(f"*{suffix}")):
            rel = built.relative_to(work / "lib").as_posix()
            build_data["force_include"][str(built)] = rel
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        print(f"corolla: compiled for {sys.implementation.cache_tag}", file=sys.stderr)
