"""Run corolla's benchmarks: every impl of every benchmark in a fresh process.

  python tools/bench/run.py                      every tools/bench/bench_*.py
  python tools/bench/run.py loop sync            bench_loop.py and bench_sync.py
  python tools/bench/run.py -k call_soon         benchmarks whose name contains call_soon
  python tools/bench/run.py --impls stdlib,corolla --python /path/to/venv/bin/python
  python tools/bench/run.py --bench-dir /tmp/mybench   bench_*.py from another folder

A benchmark module defines ``benchmarks() -> list[tuple[str, Callable[[str], float]]]``;
``run(impl)`` gets "stdlib", "corolla" or "uvloop" and returns the operations
per second it measured, or ``math.nan`` where the impl does not apply.

Each (benchmark, impl) pair runs in its own subprocess
(``run.py --one PATH:NAME:IMPL``) so that no impl inherits another's warm
caches, imports or garbage. Output: a table of ops/s with the corolla/stdlib
and corolla/uvloop ratios, a JSON file and an SVG bar chart of the ratios in
tools/bench/results/ (or --out).

Measure compiled builds: ``hatch run compiled:bench`` (installs mypyc-compiled
wheels first) or ``--python`` pointing at a venv with compiled installs; the
table says whether the corolla packages it ran were compiled.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
IMPLS = ("stdlib", "corolla", "uvloop")
MARK = "@@corolla-bench@@ "
COROLLA_PACKAGES = (
    "loop", "futures", "tasks", "sync", "queues", "transports", "streams", "subprocess",
)  # fmt: skip


# --------------------------------------------------------------------------
# inside the child process


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    return module


def module_benchmarks(path: Path) -> list[tuple[str, Callable[[str], float]]]:
    module = load_module(path)
    found = module.benchmarks()
    return [(str(name), run) for name, run in found]


def compiled_state() -> dict[str, bool]:
    """{package: COMPILED} for the corolla packages importable here."""
    state = {}
    for name in COROLLA_PACKAGES:
        try:
            mod = importlib.import_module(f"corolla.{name}")
        except ImportError:
            continue
        state[name] = bool(getattr(mod, "COMPILED", False))
    return state


def child_one(spec: str) -> int:
    path_s, name, impl = spec.rsplit(":", 2)
    for bench_name, run in module_benchmarks(Path(path_s)):
        if bench_name == name:
            ops = float(run(impl))
            print(MARK + json.dumps({"ops": None if math.isnan(ops) else ops}), flush=True)
            return 0
    print(f"no benchmark {name!r} in {path_s}", file=sys.stderr)
    return 2


def child_list(path_s: str) -> int:
    names = [name for name, _ in module_benchmarks(Path(path_s))]
    print(MARK + json.dumps({"names": names, "compiled": compiled_state()}), flush=True)
    return 0


# --------------------------------------------------------------------------
# the parent


def _child(python: str, args: list[str], timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run ``run.py ARGS`` under ``python``; (the marked JSON payload, error text)."""
    cmd = [python, str(Path(__file__).resolve()), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g}s"
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            payload: dict[str, Any] = json.loads(line[len(MARK) :])
            return payload, ""
    err = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    return None, err


def find_modules(bench_dir: Path, selected: list[str]) -> list[Path]:
    if not selected:
        return sorted(bench_dir.glob("bench_*.py"))
    paths = []
    for sel in selected:
        p = Path(sel)
        if p.suffix == ".py" and p.exists():
            paths.append(p.resolve())
            continue
        stem = sel if sel.startswith("bench_") else f"bench_{sel}"
        cand = bench_dir / f"{stem}.py"
        if not cand.exists():
            raise SystemExit(f"no benchmark module {cand}")
        paths.append(cand)
    return paths


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ops(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.1f}"


def fmt_ratio(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}x"


def table(rows: list[dict[str, Any]], impls: list[str]) -> str:
    width = max([len("benchmark"), *(len(r["name"]) for r in rows)]) + 2
    head = f"{'benchmark':<{width}}" + "".join(f"{i:>12}" for i in impls)
    head += f"{'corolla/stdlib':>16}{'corolla/uvloop':>16}"
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = ["error" if i in r["errors"] else fmt_ops(r["ops"].get(i)) for i in impls]
        line = f"{r['name']:<{width}}" + "".join(f"{c:>12}" for c in cells)
        line += f"{fmt_ratio(r['corolla/stdlib']):>16}{fmt_ratio(r['corolla/uvloop']):>16}"
        lines.append(line)
    return "\n".join(lines)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg_chart(rows: list[dict[str, Any]], title: str) -> str:
    """A horizontal bar chart of corolla/stdlib and corolla/uvloop per benchmark."""
    series = [("corolla/stdlib", "#2f6fb3"), ("corolla/uvloop", "#e08a1e")]
    ratios: list[float] = [float(r[key]) for r in rows for key, _ in series if r[key] is not None]
    top = max([2.0, *ratios]) * 1.1
    label_w, plot_w, bar_h, gap = 260, 520, 14, 12
    group_h = bar_h * len(series) + gap
    height = 70 + group_h * max(len(rows), 1) + 40
    width = label_w + plot_w + 90

    def x(v: float) -> float:
        return label_w + plot_w * v / top

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{_esc(title)}</text>',
    ]
    for i, (key, colour) in enumerate(series):
        lx = label_w + i * 250
        out.append(f'<rect x="{lx}" y="34" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 18}" y="45">{key} (higher is faster)</text>')
    y0, y1 = 60, height - 30
    step = 0.5 if top <= 4 else 1.0 if top <= 10 else 5.0
    v = 0.0
    while v <= top:
        out.append(f'<line x1="{x(v):.1f}" y1="{y0}" x2="{x(v):.1f}" y2="{y1}" stroke="#ddd"/>')
        out.append(f'<text x="{x(v):.1f}" y="{y1 + 14}" text-anchor="middle">{v:g}x</text>')
        v += step
    for r_i, row in enumerate(rows):
        gy = y0 + 6 + r_i * group_h
        name = _esc(row["name"])
        out.append(f'<text x="{label_w - 8}" y="{gy + bar_h + 4}" text-anchor="end">{name}</text>')
        for s_i, (key, colour) in enumerate(series):
            by = gy + s_i * bar_h
            val = row[key]
            if val is None:
                out.append(f'<text x="{label_w + 4}" y="{by + bar_h - 3}" fill="#888">n/a</text>')
                continue
            out.append(
                f'<rect x="{label_w}" y="{by}" width="{x(val) - label_w:.1f}" height="{bar_h - 2}" '
                f'fill="{colour}"/>'
            )
            out.append(f'<text x="{x(val) + 4:.1f}" y="{by + bar_h - 3}">{val:.2f}x</text>')
    out.append(
        f'<line x1="{x(1):.1f}" y1="{y0}" x2="{x(1):.1f}" y2="{y1}" stroke="#c00" '
        'stroke-dasharray="4 3"/>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"] and len(argv) == 2:
        return child_one(argv[1])
    if argv[:1] == ["--list"] and len(argv) == 2:
        return child_list(argv[1])

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("modules", nargs="*", help="bench module names (loop, bench_loop) or paths")
    ap.add_argument("-k", dest="keyword", help="only benchmarks whose name contains this")
    ap.add_argument("--impls", default=",".join(IMPLS), help="comma-separated (default: all)")
    ap.add_argument("--python", default=sys.executable, help="interpreter to run them with")
    ap.add_argument("--bench-dir", default=str(HERE), help="where bench_*.py live")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per (benchmark, impl)")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for JSON and SVG")
    args = ap.parse_args(argv)

    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    unknown = set(impls) - set(IMPLS)
    if unknown:
        raise SystemExit(f"unknown impl(s): {', '.join(sorted(unknown))}")
    paths = find_modules(Path(args.bench_dir), args.modules)
    if not paths:
        print(f"no bench_*.py in {args.bench_dir}")
        return 1

    rows: list[dict[str, Any]] = []
    compiled: dict[str, bool] = {}
    errors: list[str] = []
    for path in paths:
        listing, err = _child(args.python, ["--list", str(path)], args.timeout)
        if listing is None:
            errors.append(f"{path.name}: cannot list benchmarks: {err}")
            continue
        compiled = compiled or listing["compiled"]
        for name in listing["names"]:
            if args.keyword and args.keyword not in name:
                continue
            row: dict[str, Any] = {"module": path.stem, "name": name, "ops": {}, "errors": {}}
            for impl in impls:
                print(f"{path.stem}:{name}:{impl} ...", end=" ", flush=True, file=sys.stderr)
                res, err = _child(args.python, ["--one", f"{path}:{name}:{impl}"], args.timeout)
                ops = None if res is None else res["ops"]
                if res is None:
                    row["errors"][impl] = err
                    errors.append(f"{path.stem}:{name}:{impl}: {err}")
                row["ops"][impl] = ops
                print(fmt_ops(ops), file=sys.stderr, flush=True)
            row["corolla/stdlib"] = ratio(row["ops"].get("corolla"), row["ops"].get("stdlib"))
            row["corolla/uvloop"] = ratio(row["ops"].get("corolla"), row["ops"].get("uvloop"))
            rows.append(row)

    py = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    comp = sorted(k for k, v in compiled.items() if v)
    pure = sorted(k for k, v in compiled.items() if not v)
    if not compiled:
        note = "corolla: not importable"
    elif not pure:
        note = "corolla: compiled (mypyc): " + ", ".join(comp)
    else:
        note = (
            f"corolla: NOT all compiled: pure Python {', '.join(pure)}; "
            f"compiled {', '.join(comp) or 'none'} (pure parts understate corolla)"
        )
    kind = "compiled" if comp and not pure else "partly compiled" if comp else "NOT compiled"
    print()
    print(f"Python {py} ({args.python}); {note}")
    print(table(rows, impls))
    for e in errors:
        print("error:", e)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    report = {"python": py, "interpreter": args.python, "compiled": compiled, "note": note,
              "impls": impls, "started": stamp, "results": rows, "errors": errors}  # fmt: skip
    json_path = out / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(report, indent=1))
    svg_path = out / f"bench-{stamp}.svg"
    svg_path.write_text(svg_chart(rows, f"corolla speed ratios, Python {py}, {kind}"))
    print(f"\nJSON: {json_path}\nSVG:  {svg_path}")
    return 1 if errors and not rows else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main(sys.argv[1:]))
