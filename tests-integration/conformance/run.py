"""CPython's own asyncio test suite, run with corolla swapped in.

  python tests-integration/conformance/run.py [--mode loop|classes|stdlib]
      [--python 3.12 | --python /path/to/python] [--modules test_locks,test_queues]
      [--timeout 30] [--ci] [--update-baseline] [--json PATH]

Modes: ``stdlib`` runs the tests as CPython ships them (the baseline this
runner is validated against); ``loop`` makes every loop the tests obtain a
corolla loop (policy, asyncio.new_event_loop, asyncio.SelectorEventLoop(...),
test_utils.TestCase.new_test_loop, IsolatedAsyncioTestCase, asyncio.run);
``classes`` does that and also puts corolla's Future, Task, gather/wait/...,
locks, queues and streams in place of asyncio's names, for what corolla has.

Each module runs in its own subprocess (``_worker.py``); a test running longer
than ``--timeout`` is recorded as hung and the module goes on with a fresh
worker. Out-of-scope tests (classification.py, README.md) are listed, not run.

``--ci``: Python 3.11 (or the ``--python`` given: CI runs 3.12 and 3.13 too,
each in its matrix env), modes loop and classes, the CI module list, 30 s per
test; compares each module's passed count with that Python's entry in
baseline.json and exits 1 when one falls (a module below its baseline is run
once more first: the suite has real-time tests).
On mypyc-compiled wheels (every corolla package COMPILED) the counts of
``X.Y-compiled`` in baseline.json, the modules whose count differs there,
replace that Python's. ``--update-baseline`` writes the counts of this run
into baseline.json (on compiled wheels only the modules that differ).

``--python X.Y`` uses the running interpreter if it is X.Y, else the hatch
matrix env ``all.pyX.Y`` (``hatch env create all.pyX.Y``), else the pyenv (or
PATH) pythonX.Y with corolla's package sources on PYTHONPATH; ``--python PATH``
uses that interpreter and whatever corolla it has installed (e.g. a venv with
compiled wheels).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RESULTS = HERE / "results"
BASELINE = HERE / "baseline.json"
WORKER = HERE / "_worker.py"

sys.path.insert(0, str(HERE))
import classification  # noqa: E402

MODES = ("stdlib", "loop", "classes")

# The modules --ci runs: those that finish well inside CI's budget on 3.11.
CI_PYTHON = "3.11"
CI_MODES = ("loop", "classes")
# Modes whose counts baseline.json holds and --ci checks: both. In "classes"
# a newly swapped corolla name can lower a module's count; that is a real
# incompatibility of the new name, so it fails CI like any other fall until
# it is fixed or (with the reason in README.md) accepted with --update-baseline.
CHECKED_MODES = ("loop", "classes")
CI_MODULES = [
    "test_buffered_proto",
    "test_context",
    "test_events",
    "test_futures",
    "test_futures2",
    "test_locks",
    "test_pep492",
    "test_queues",
    "test_runners",
    "test_sendfile",
    "test_server",
    "test_sock_lowlevel",
    "test_ssl",
    "test_sslproto",
    "test_streams",
    "test_subprocess",
    "test_taskgroups",
    "test_tasks",
    "test_threads",
    "test_timeouts",
    "test_unix_events",
    "test_waitfor",
]
CI_TIMEOUT = 30.0

MAX_RESTARTS = 50
OUTCOMES = ("passed", "failed", "error", "skipped", "hung")


@dataclass
class ModuleResult:
    module: str
    status: str = "ran"  # ran | unavailable | out-of-scope
    reason: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    out_of_scope: int = 0
    seconds: float = 0.0
    restarts: int = 0
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    excluded: list[list[str]] = field(default_factory=list)
    swapped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.counts["passed"]

    def record(self, test: str, outcome: str, detail: str = "", seconds: float = 0.0) -> None:
        if test in self.tests:  # e.g. a tearDown error after the result
            return
        self.tests[test] = {"outcome": outcome, "detail": detail, "seconds": seconds}
        self.counts[outcome] += 1


# --------------------------------------------------------------------------
# interpreters


def pyenv_python(version: str) -> str | None:
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for root in filter(None, roots):
        for cand in sorted(Path(root, "versions").glob(f"{version}.*"), reverse=True):
            exe = cand / "bin" / "python"
            if exe.exists():
                return str(exe)
    return shutil.which(f"python{version}")


def hatch_env_python(version: str) -> str | None:
    """The python of the hatch matrix env ``all.pyX.Y`` (every package editable), if created."""
    hatch = shutil.which("hatch")
    if hatch is None:
        return None
    env = {k: v for k, v in os.environ.items() if k not in ("HATCH_ENV_ACTIVE", "VIRTUAL_ENV")}
    out = subprocess.run(
        [hatch, "env", "find", f"all.py{version}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    exe = Path(out.stdout.strip(), "bin", "python")
    return str(exe) if out.returncode == 0 and exe.exists() else None


def resolve_python(spec: str | None) -> tuple[str, dict[str, str]]:
    """The interpreter to run and the environment to run it with."""
    env = dict(os.environ)
    env.pop("PYTHONASYNCIODEBUG", None)
    if spec is None:
        return sys.executable, env
    if os.sep in spec or Path(spec).exists():
        return spec, env
    if spec == f"{sys.version_info[0]}.{sys.version_info[1]}":
        return sys.executable, env
    exe = hatch_env_python(spec)
    if exe is not None:
        return exe, env
    exe = pyenv_python(spec)
    if exe is None:
        raise SystemExit(f"no Python {spec} found (hatch env all.py{spec}, pyenv or PATH)")
    print(
        f"note: no hatch env all.py{spec} (create it: hatch env create all.py{spec}); using "
        f"{exe} with packages/*/src on PYTHONPATH, which needs corolla's runtime deps there"
    )
    srcs = [str(p) for p in sorted((ROOT / "packages").glob("*/src")) if p.is_dir()]
    env["PYTHONPATH"] = os.pathsep.join([*srcs, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return exe, env


def python_version(python: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def list_modules(python: str, env: dict[str, str]) -> list[str]:
    code = (
        "import os, test.test_asyncio as t; "
        "print('\\n'.join(sorted(f[:-3] for f in os.listdir(os.path.dirname(t.__file__)) "
        "if f.startswith('test_') and f.endswith('.py'))))"
    )
    out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{python} has no test.test_asyncio:\n{out.stderr}")
    return out.stdout.split()


# --------------------------------------------------------------------------
# one module


def run_module(
    python: str,
    env: dict[str, str],
    module: str,
    mode: str,
    timeout: float,
    logdir: Path,
    package: str = "test.test_asyncio",
) -> ModuleResult:
    res = ModuleResult(module)
    rule = classification.module_excluded(module)
    if rule is not None:
        res.status, res.reason = "out-of-scope", f"{rule.kind}: {rule.reason}"
        return res
    start = time.monotonic()
    log = logdir / f"{module}.log"
    with tempfile.TemporaryDirectory(prefix="corolla-conf-") as tmp:
        events_path = Path(tmp, "events.jsonl")
        skip_path = Path(tmp, "skip.txt")
        planned: list[str] | None = None
        while True:
            skip_path.write_text("\n".join(res.tests) + "\n")
            events_path.write_text("")
            cmd = [python, str(WORKER), "--module", module, "--mode", mode,
                   "--out", str(events_path), "--timeout", str(timeout),
                   "--skip", str(skip_path), "--package", package]  # fmt: skip
            with open(log, "a") as logf:
                logf.write(f"\n===== {' '.join(cmd)}\n")
                logf.flush()
                proc = subprocess.Popen(
                    cmd, env=env, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=tempfile.gettempdir(),
                )  # fmt: skip
                current, ended, pos, last = None, False, 0, time.monotonic()
                started, done_before = last, len(res.tests)
                events: list[dict[str, Any]] = []
                while True:
                    rc = proc.poll()
                    with open(events_path) as f:
                        f.seek(pos)
                        chunk = f.read()
                    complete = chunk[: chunk.rfind("\n") + 1]
                    pos += len(complete.encode())
                    for line in complete.splitlines():
                        ev = json.loads(line)
                        events.append(ev)
                        last = time.monotonic()
                        kind = ev["event"]
                        if kind == "start":
                            current, started = ev["test"], ev.get("t", time.monotonic())
                        elif kind == "result":
                            res.record(ev["test"], ev["outcome"], ev.get("detail", ""),
                                       ev.get("seconds", 0.0))  # fmt: skip
                            current = None
                        elif kind == "plan" and planned is None:
                            planned = ev["run"]
                            res.excluded = ev["out_of_scope"]
                            res.out_of_scope = len(res.excluded)
                        elif kind == "swaps":
                            res.swapped, res.missing = ev["swapped"], ev["missing"]
                        elif kind == "unavailable":
                            res.status, res.reason = "unavailable", ev["reason"]
                        elif kind == "end":
                            ended = True
                    if rc is not None and not complete:
                        break
                    # faulthandler ends a hung test itself; this is the guard
                    # for a worker stuck outside a test (fixtures, import).
                    if time.monotonic() - last > timeout + 60:
                        proc.kill()
                        proc.wait()
                        break
                    time.sleep(0.05)
            if res.status == "unavailable" or ended:
                break
            tail = log.read_text(errors="replace")[-3000:]
            if res.restarts >= MAX_RESTARTS:
                res.record(f"{module} (gave up after {res.restarts} restarts)", "error", tail)
                break
            if current is not None:
                if time.monotonic() - started >= timeout:
                    res.record(current, "hung", f"no result within {timeout:g}s\n{tail}", timeout)
                else:
                    msg = f"the worker died in this test (exit {proc.returncode})\n{tail}"
                    res.record(current, "error", msg)
                res.restarts += 1
                continue
            # The worker died between tests (e.g. a fixture or a tearDown that
            # escaped unittest): record that, and go on if it had made progress.
            res.record(f"{module} (worker exit {proc.returncode}, #{res.restarts})", "error", tail)
            if len(res.tests) - 1 > done_before:
                res.restarts += 1
                continue
            break
    if planned is not None:
        for test in planned:
            if test not in res.tests:
                res.record(test, "error", "not run: the worker stopped before reaching it")
    res.seconds = round(time.monotonic() - start, 1)
    return res


# --------------------------------------------------------------------------
# reporting and baseline


def table(results: list[ModuleResult], title: str) -> str:
    head = f"{'module':<26}{'passed':>7}{'failed':>7}{'errors':>7}{'skipped':>8}{'hung':>5}"
    head += f"{'out-of-scope':>13}{'secs':>7}  note"
    lines = [title, head, "-" * len(head)]
    tot = dict.fromkeys(OUTCOMES, 0)
    oos = 0
    for r in results:
        if r.status == "out-of-scope":
            lines.append(f"{r.module:<26}{'':>34}{'module':>13}{'':>7}  out of scope ({r.reason})")
            continue
        if r.status == "unavailable":
            first = r.reason.strip().splitlines()[-1] if r.reason.strip() else ""
            lines.append(f"{r.module:<26}{'':>47}  unavailable: {first[:100]}")
            continue
        c = r.counts
        for k in OUTCOMES:
            tot[k] += c[k]
        oos += r.out_of_scope
        note = f"{r.restarts} restart(s)" if r.restarts else ""
        lines.append(
            f"{r.module:<26}{c['passed']:>7}{c['failed']:>7}{c['error']:>7}{c['skipped']:>8}"
            f"{c['hung']:>5}{r.out_of_scope:>13}{r.seconds:>7.0f}  {note}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"{'TOTAL':<26}{tot['passed']:>7}{tot['failed']:>7}{tot['error']:>7}{tot['skipped']:>8}"
        f"{tot['hung']:>5}{oos:>13}"
    )
    return "\n".join(lines)


_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b")


def error_line(detail: str) -> str:
    """The 'SomeError: message' line of a traceback (else its last line)."""
    lines = [ln for ln in detail.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if _EXC_LINE.match(ln):
            return ln.strip()
    return lines[-1].strip() if lines else ""


def failures(results: list[ModuleResult]) -> str:
    lines = []
    for r in results:
        if r.status == "unavailable":
            lines.append(
                f"{r.module}: unavailable\n    " + r.reason.strip().replace("\n", "\n    ")
            )
        for test, rec in r.tests.items():
            if rec["outcome"] in ("failed", "error", "hung"):
                last = error_line(rec["detail"])
                if rec["outcome"] == "hung":
                    last = rec["detail"].split("\n", 1)[0]
                lines.append(
                    f"{rec['outcome'].upper():6} {classification.short_id(test)}: {last[:160]}"
                )
    return "\n".join(lines)


def rules_markdown() -> str:
    """The classification as the Markdown table README.md carries."""
    lines = ["| module | tests | kind | reason |", "|---|---|---|---|"]
    for r in classification.RULES:
        what = f"source contains `{r.source}`" if r.source else f"`{r.pattern}`"
        if r.pattern == "*" and not r.source:
            what = "whole module (`*`)"
        mod = "every module" if r.module == "*" else r.module
        lines.append(f"| {mod} | {what} | {r.kind} | {r.reason} |")
    for module, keeps in classification.KEEP.items():
        for k in keeps:
            lines.append(f"| {module} | `{k}` | **kept in scope** | the one variant that runs |")
    return "\n".join(lines)


def totals_line(results: list[ModuleResult]) -> str:
    tot = dict.fromkeys(OUTCOMES, 0)
    for r in results:
        if r.status == "ran":
            for k in OUTCOMES:
                tot[k] += r.counts[k]
    unavailable = sum(r.status == "unavailable" for r in results)
    # The plain "N passed, N failed, N skipped" form CI logs recognise.
    return (
        f"conformance: {tot['passed']} passed, "
        f"{tot['failed'] + tot['error'] + tot['hung']} failed, "
        f"{tot['skipped']} skipped ({unavailable} module(s) unavailable)"
    )


def compare_baseline(
    baseline: dict[str, int], results: dict[str, tuple[str, int]]
) -> tuple[bool, list[str]]:
    """Compare passed counts with the baseline.

    ``results`` maps module -> (status, passed). A module fails when it has a
    baseline and either passed fewer tests or could not run; a module with no
    baseline never fails. Returns (ok, messages).
    """
    ok = True
    msgs: list[str] = []
    for module, (status, passed) in sorted(results.items()):
        base = baseline.get(module)
        if status == "out-of-scope":
            continue
        if status == "unavailable":
            if base is not None:
                ok = False
                msgs.append(f"FAIL {module}: unavailable, baseline {base} passed")
            else:
                msgs.append(f"ok   {module}: unavailable (no baseline yet)")
            continue
        if base is None:
            msgs.append(f"ok   {module}: {passed} passed (no baseline yet)")
        elif passed < base:
            ok = False
            msgs.append(f"FAIL {module}: {passed} passed, baseline {base}")
        elif passed > base:
            msgs.append(
                f"ok   {module}: {passed} passed, above baseline {base} (--update-baseline)"
            )
        else:
            msgs.append(f"ok   {module}: {passed} passed (= baseline)")
    return ok, msgs


def updated_baseline(
    baseline: dict[str, int], results: dict[str, tuple[str, int]]
) -> dict[str, int]:
    """The baseline with the modules of this run set to their passed counts.

    A module that passed nothing gets no entry (it would guard nothing).
    """
    new = dict(baseline)
    for module, (status, passed) in results.items():
        if status == "ran" and (passed > 0 or module in new):
            new[module] = passed
    return dict(sorted(new.items()))


def baseline_key(short: str, compiled: bool) -> str:
    """The baseline.json key of a run: ``3.12``, or ``3.12-compiled`` for compiled wheels."""
    return f"{short}-compiled" if compiled else short


def mode_baseline(
    baseline: dict[str, dict[str, dict[str, int]]], short: str, mode: str, compiled: bool
) -> dict[str, int]:
    """The counts a run compares with.

    ``X.Y`` holds the editable (uncompiled) counts; ``X.Y-compiled`` only the
    modules whose count differs on the mypyc-compiled wheels (tests that pass
    compiled only, README.md), laid over them.
    """
    base = dict(baseline.get(short, {}).get(mode, {}))
    if compiled:
        base.update(baseline.get(baseline_key(short, True), {}).get(mode, {}))
    return base


def compiled_overlay(pure: dict[str, int], full: dict[str, int]) -> dict[str, int]:
    """The ``X.Y-compiled`` entries: the modules of ``full`` whose count is not ``pure``'s."""
    return {m: n for m, n in sorted(full.items()) if pure.get(m) != n}


def all_compiled(corolla: str) -> bool:
    """Whether corolla_compiled()'s answer says every corolla package is compiled."""
    builds = [part.partition("=")[2] for part in corolla.split()]
    return bool(builds) and all(b == "compiled" for b in builds)


def load_baseline(path: Path = BASELINE) -> dict[str, dict[str, dict[str, int]]]:
    if not path.exists():
        return {}
    data: dict[str, dict[str, dict[str, int]]] = json.loads(path.read_text())
    return data


def corolla_compiled(python: str, env: dict[str, str]) -> str:
    code = (
        "import importlib\n"
        "out = []\n"
        "for n in ('loop','futures','tasks','sync','queues','transports','streams'):\n"
        "    try: m = importlib.import_module('corolla.' + n)\n"
        "    except ImportError: continue\n"
        "    out.append(f\"{n}={'compiled' if getattr(m, 'COMPILED', False) else 'pure'}\")\n"
        "print(' '.join(out) or 'corolla not importable')\n"
    )
    out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, check=False)
    return out.stdout.strip() or out.stderr.strip()[-200:]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mode", choices=MODES, action="append",
                    help="stdlib, loop or classes (repeatable; default loop)")  # fmt: skip
    ap.add_argument("--python", help="X.Y or a path to an interpreter (default: this one)")
    ap.add_argument("--modules", help="comma-separated module names (default: all)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per test (default 30)")
    ap.add_argument("--ci", action="store_true", help="CI modules, baseline check (3.11 default)")
    ap.add_argument("--update-baseline", action="store_true", help="write this run's counts")
    ap.add_argument("--json", help="where to write the JSON report (default: results/)")
    ap.add_argument("--show-failures", action="store_true",
                    help="list each failing test with the last line of its error")  # fmt: skip
    ap.add_argument("--rules-markdown", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rules_markdown:
        print(rules_markdown())
        return 0

    modes = args.mode or (list(CI_MODES) if args.ci else ["loop"])
    py_spec = args.python or (CI_PYTHON if args.ci else None)
    python, env = resolve_python(py_spec)
    version = python_version(python, env)
    short = ".".join(version.split(".")[:2])
    timeout = args.timeout or CI_TIMEOUT
    if args.modules:
        modules = [m.strip() for m in args.modules.split(",") if m.strip()]
        modules = [m if m.startswith("test_") else f"test_{m}" for m in modules]
    elif args.ci or args.update_baseline:
        modules = list(CI_MODULES)
    else:
        modules = list_modules(python, env)

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    RESULTS.mkdir(exist_ok=True)
    logdir = RESULTS / f"logs-{stamp}-py{short}"
    logdir.mkdir(exist_ok=True)
    compiled = corolla_compiled(python, env)
    is_compiled = all_compiled(compiled)
    print(f"Python {version} ({python}); corolla: {compiled}; {timeout:g}s per test", flush=True)

    report: dict[str, Any] = {
        "python": version, "interpreter": python, "corolla": compiled,
        "timeout": timeout, "started": stamp, "modes": {},
    }  # fmt: skip
    all_results: dict[str, list[ModuleResult]] = {}
    baseline = load_baseline()
    for mode in modes:
        results = []
        for module in modules:
            print(f"[{mode}] {module} ...", end=" ", flush=True)
            r = run_module(python, env, module, mode, timeout, logdir)
            summary = r.status if r.status != "ran" else (
                f"{r.passed} passed, {r.counts['failed'] + r.counts['error']} failed/errors, "
                f"{r.counts['hung']} hung, {r.out_of_scope} out of scope, {r.seconds:.0f}s"
            )  # fmt: skip
            print(summary, flush=True)
            base = mode_baseline(baseline, short, mode, is_compiled).get(module)
            below = base is not None and r.passed < base and mode in CHECKED_MODES
            if args.ci and not args.update_baseline and below:
                # The suite has real-time tests: a module below its baseline
                # gets one more run before it counts as a regression.
                print(f"[{mode}] {module} below baseline {base}: once more ...", end=" ")
                again = run_module(python, env, module, mode, timeout, logdir)
                print(f"{again.passed} passed", flush=True)
                if again.passed > r.passed:
                    r = again
            results.append(r)
        all_results[mode] = results
        report["modes"][mode] = {r.module: asdict(r) for r in results}
        if args.show_failures:
            print(failures(results))
        print()
        print(table(results, f"== mode {mode}, Python {version}"))
        swapped = next((r for r in results if r.swapped), None)
        if swapped is not None and mode == "classes":
            print("swapped:", *swapped.swapped, sep="\n  ")
            if swapped.missing:
                print("not provided by corolla (stdlib kept):", ", ".join(swapped.missing))
        print(totals_line(results))

    out = Path(args.json) if args.json else RESULTS / f"conformance-{stamp}-py{short}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"\nJSON report: {out}\nworker logs: {logdir}")

    rc = 0
    if args.ci or args.update_baseline:
        for mode, results in all_results.items():
            if mode not in CHECKED_MODES:
                print(f"\nmode {mode}: reported only, not compared with the baseline")
                continue
            counts = {r.module: (r.status, r.passed) for r in results}
            mode_base = mode_baseline(baseline, short, mode, is_compiled)
            key = baseline_key(short, is_compiled)
            if args.update_baseline:
                new_base = updated_baseline(mode_base, counts)
                if is_compiled:
                    pure = baseline.get(short, {}).get(mode, {})
                    new_base = compiled_overlay(pure, new_base)
                baseline.setdefault(key, {})[mode] = new_base
                continue
            ok, msgs = compare_baseline(mode_base, counts)
            print(f"\nbaseline check, Python {key}, mode {mode}:")
            print("\n".join("  " + m for m in msgs))
            if not ok:
                rc = 1
        if args.update_baseline:
            BASELINE.write_text(json.dumps(baseline, indent=2, sort_keys=True) + "\n")
            print(f"baseline written: {BASELINE}")
        else:
            print("baseline check:", "passed" if rc == 0 else "FAILED")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
