"""tools/bench/run.py: discovery, one subprocess per (benchmark, impl), table, JSON, SVG."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

RUN_PY = Path(__file__).resolve().parent.parent / "tools" / "bench" / "run.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corolla_bench_run", RUN_PY)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corolla_bench_run"] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_ratio_and_formatting() -> None:
    assert bench.ratio(300.0, 100.0) == 3.0
    assert bench.ratio(None, 100.0) is None
    assert bench.ratio(100.0, None) is None
    assert bench.fmt_ops(2_500_000.0) == "2.50M"
    assert bench.fmt_ops(None) == "n/a"
    assert bench.fmt_ratio(1.234) == "1.23x"


def test_svg_is_well_formed_and_has_a_bar_per_ratio() -> None:
    rows = [
        {"name": "a<b", "corolla/stdlib": 3.0, "corolla/uvloop": 1.1},
        {"name": "c", "corolla/stdlib": 0.8, "corolla/uvloop": None},
    ]
    root = ET.fromstring(bench.svg_chart(rows, "t & t"))
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "3.00x" in texts
    assert "1.10x" in texts
    assert "0.80x" in texts
    assert "n/a" in texts
    assert "a<b" in texts


def test_end_to_end_on_a_temporary_module(tmp_path: Path) -> None:
    bench_dir = tmp_path / "b"
    bench_dir.mkdir()
    (bench_dir / "bench_tmp.py").write_text(
        textwrap.dedent(
            """
            import math, sys

            def _run(impl):
                # each (benchmark, impl) pair runs in a fresh process
                assert "seen" not in sys.modules
                sys.modules["seen"] = sys
                return {"stdlib": 100.0, "corolla": 250.0, "uvloop": math.nan}[impl]

            def _boom(impl):
                raise RuntimeError("boom")

            def benchmarks():
                return [("fast", _run), ("broken", _boom)]
            """
        )
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(RUN_PY), "--bench-dir", str(bench_dir), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2.50x" in proc.stdout
    assert "error: bench_tmp:broken:stdlib: RuntimeError: boom" in proc.stdout
    (report,) = out.glob("bench-*.json")
    data = json.loads(report.read_text())
    fast = next(r for r in data["results"] if r["name"] == "fast")
    assert fast["ops"] == {"stdlib": 100.0, "corolla": 250.0, "uvloop": None}
    assert fast["corolla/stdlib"] == 2.5
    assert len(list(out.glob("bench-*.svg"))) == 1
