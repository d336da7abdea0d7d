"""The conformance runner's own logic: classification, baseline check, hang handling.

The conformance run itself (CPython's test_asyncio with corolla swapped in) is
not a pytest test: ``hatch run conformance`` / ``--ci``.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

CONFORMANCE = Path(__file__).resolve().parent / "conformance"


def _load(name: str, as_name: str) -> ModuleType:
    if as_name in sys.modules:
        return sys.modules[as_name]
    spec = importlib.util.spec_from_file_location(as_name, CONFORMANCE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[as_name] = module
    spec.loader.exec_module(module)
    return module


# run.py imports its sibling as "classification": load that one under its own name.
classification = _load("classification", "classification")
run = _load("run", "corolla_conformance_run")


# --- classification --------------------------------------------------------


def test_whole_module_rules_take_the_module_out() -> None:
    rule = classification.module_excluded("test_proactor_events")
    assert rule is not None
    assert rule.kind == "windows"
    assert classification.module_excluded("test_locks") is None


def test_pattern_rules_match_class_and_method() -> None:
    tid = "test.test_asyncio.test_events.PollEventLoopTests.test_call_soon"
    rule = classification.classify("test_events", tid)
    assert rule is not None
    assert rule.kind == "duplicate"
    kept = "test.test_asyncio.test_events.EPollEventLoopTests.test_call_soon"
    assert classification.classify("test_events", kept) is None
    private = "test.test_asyncio.test_events.EPollEventLoopTests.test_internal_fds"
    rule = classification.classify("test_events", private)
    assert rule is not None
    assert rule.kind == "private"


def test_rules_are_per_module() -> None:
    # PolicyTests is out of scope in test_unix_events, in scope in test_events.
    assert classification.classify("test_unix_events", "m.PolicyTests.test_x") is not None
    assert classification.classify("test_events", "m.PolicyTests.test_x") is None


def test_source_rules_look_at_the_test_source() -> None:
    tid = "test.test_asyncio.test_tasks.CTask_CFuture_Tests.test_sleep"
    src = "def test_sleep(self):\n    loop = self.new_test_loop(gen)\n"
    rule = classification.classify("test_tasks", tid, src)
    assert rule is not None
    assert rule.kind == "virtual-time"
    assert classification.classify("test_tasks", tid, "def test_sleep(self): pass") is None


def test_keep_overrides_a_matching_rule() -> None:
    kept = "m.SubprocessThreadedWatcherTests.test_stdin_stdout"
    assert classification.classify("test_subprocess", kept) is None
    dup = "m.SubprocessSafeWatcherTests.test_stdin_stdout"
    assert classification.classify("test_subprocess", dup) is not None


def test_every_rule_has_a_known_kind_and_a_reason() -> None:
    for rule in classification.RULES:
        assert rule.kind in classification.KINDS, rule
        assert rule.reason.strip(), rule


def test_readme_lists_every_rule() -> None:
    readme = (CONFORMANCE / "README.md").read_text()
    assert run.rules_markdown() in readme, "regenerate: python run.py --rules-markdown"


# --- baseline ----------------------------------------------------------------


def test_baseline_lower_count_fails() -> None:
    ok, msgs = run.compare_baseline({"test_locks": 70}, {"test_locks": ("ran", 69)})
    assert not ok
    assert "FAIL test_locks" in msgs[0]


def test_baseline_equal_or_higher_passes() -> None:
    ok, _ = run.compare_baseline(
        {"test_locks": 70, "test_queues": 40},
        {"test_locks": ("ran", 70), "test_queues": ("ran", 44)},
    )
    assert ok


def test_unavailable_fails_only_with_a_baseline() -> None:
    ok, msgs = run.compare_baseline({}, {"test_events": ("unavailable", 0)})
    assert ok
    assert "unavailable" in msgs[0]
    ok, _ = run.compare_baseline({"test_events": 10}, {"test_events": ("unavailable", 0)})
    assert not ok


def test_module_without_baseline_never_fails() -> None:
    ok, _ = run.compare_baseline({}, {"test_tasks": ("ran", 0)})
    assert ok


def test_compiled_counts_lie_over_the_pure_ones_on_compiled_runs_only() -> None:
    baseline = {
        "3.12": {"classes": {"test_ssl": 19, "test_locks": 70}},
        "3.12-compiled": {"classes": {"test_ssl": 20}},
    }
    assert run.mode_baseline(baseline, "3.12", "classes", False) == {
        "test_ssl": 19,
        "test_locks": 70,
    }
    assert run.mode_baseline(baseline, "3.12", "classes", True) == {
        "test_ssl": 20,
        "test_locks": 70,
    }
    assert run.mode_baseline(baseline, "3.12", "loop", True) == {}
    assert run.mode_baseline(baseline, "3.11", "classes", True) == {}
    assert run.baseline_key("3.12", True) == "3.12-compiled"
    assert run.baseline_key("3.12", False) == "3.12"


def test_compiled_overlay_keeps_only_the_modules_that_differ() -> None:
    pure = {"test_ssl": 19, "test_locks": 70}
    full = {"test_ssl": 20, "test_locks": 70, "test_tasks": 216}
    assert run.compiled_overlay(pure, full) == {"test_ssl": 20, "test_tasks": 216}


def test_a_run_counts_as_compiled_only_when_every_package_is() -> None:
    assert run.all_compiled("loop=compiled futures=compiled tasks=compiled")
    assert not run.all_compiled("loop=compiled futures=pure tasks=compiled")
    assert not run.all_compiled("corolla not importable")
    assert not run.all_compiled("")


def test_update_keeps_other_modules_and_skips_unavailable() -> None:
    new = run.updated_baseline(
        {"test_locks": 70, "test_events": 5},
        {
            "test_locks": ("ran", 60),
            "test_tasks": ("ran", 200),
            "test_events": ("unavailable", 0),
            "test_subprocess": ("ran", 0),
        },
    )
    assert new == {"test_events": 5, "test_locks": 60, "test_tasks": 200}


# --- the worker, end to end on a tiny test package -------------------------


@pytest.fixture
def fake_package(tmp_path: Path) -> Path:
    pkg = tmp_path / "fakeconf"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "test_fake.py").write_text(
        textwrap.dedent(
            """
            import time, unittest

            class A(unittest.TestCase):
                def test_1_pass(self):
                    pass
                def test_2_fail(self):
                    self.assertEqual(1, 2)
                def test_3_hang(self):
                    while True:
                        time.sleep(0.05)
                def test_4_error(self):
                    raise KeyError("x")
                @unittest.skip("because")
                def test_5_skip(self):
                    pass
                def test_6_pass_after_hang(self):
                    pass
            """
        )
    )
    return tmp_path


def test_worker_records_outcomes_and_survives_a_hang(fake_package: Path, tmp_path: Path) -> None:
    env = {**run.os.environ, "PYTHONPATH": str(fake_package)}
    res = run.run_module(
        sys.executable, env, "test_fake", "stdlib", 1.0, tmp_path, package="fakeconf"
    )
    assert res.status == "ran"
    assert res.counts == {"passed": 2, "failed": 1, "error": 1, "skipped": 1, "hung": 1}
    assert res.restarts == 1
    hung = next(t for t, r in res.tests.items() if r["outcome"] == "hung")
    assert hung.endswith("test_3_hang")
    assert res.tests["fakeconf.test_fake.A.test_6_pass_after_hang"]["outcome"] == "passed"


def test_unimportable_module_is_unavailable(tmp_path: Path) -> None:
    pkg = tmp_path / "brokenconf"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "test_broken.py").write_text("import no_such_module_here\n")
    env = {**run.os.environ, "PYTHONPATH": str(tmp_path)}
    res = run.run_module(
        sys.executable, env, "test_broken", "stdlib", 5.0, tmp_path, package="brokenconf"
    )
    assert res.status == "unavailable"
    assert "no_such_module_here" in res.reason


def test_out_of_scope_module_is_not_run(tmp_path: Path) -> None:
    res = run.run_module(sys.executable, {}, "test_windows_events", "stdlib", 5.0, tmp_path)
    assert res.status == "out-of-scope"
    assert res.tests == {}


def test_worker_death_in_or_between_tests_is_recorded_and_the_module_goes_on(
    tmp_path: Path,
) -> None:
    pkg = tmp_path / "dyingconf"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "test_dying.py").write_text(
        textwrap.dedent(
            """
            import os, unittest

            class A(unittest.TestCase):
                def test_1(self):
                    pass
                def test_2_dies(self):
                    os._exit(5)
                def test_3(self):
                    pass
                @classmethod
                def tearDownClass(cls):
                    os._exit(7)

            class B(unittest.TestCase):
                def test_4(self):
                    pass
            """
        )
    )
    env = {**run.os.environ, "PYTHONPATH": str(tmp_path)}
    res = run.run_module(
        sys.executable, env, "test_dying", "stdlib", 30.0, tmp_path, package="dyingconf"
    )
    outcomes = {classification.short_id(t): r["outcome"] for t, r in res.tests.items()}
    assert outcomes["A.test_1"] == "passed"
    assert outcomes["A.test_2_dies"] == "error"
    assert "died in this test (exit 5)" in res.tests["dyingconf.test_dying.A.test_2_dies"]["detail"]
    assert outcomes["A.test_3"] == "passed"
    assert outcomes["B.test_4"] == "passed"
    assert res.counts["hung"] == 0
    assert any("worker exit 7" in t for t in res.tests)
