"""The installed package is the build that was asked for."""

import os

import pytest

import corolla.streams

MODULES = [corolla.streams]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_compiled_flag_matches_build(module: object) -> None:
    expected = os.environ.get("COROLLA_EXPECT_COMPILED")
    if expected is None:
        pytest.skip("COROLLA_EXPECT_COMPILED is not set")
    assert module.COMPILED is (expected == "1")  # type: ignore[attr-defined]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_public_names_exist(module: object) -> None:
    for name in module.__all__:  # type: ignore[attr-defined]
        assert hasattr(module, name), name


def test_flow_control_base_stays_interpreted() -> None:
    # Compiled subclasses in other wheels (corolla.subprocess) need an interpreted base.
    import corolla.streams._flow as flow

    assert flow.__file__.endswith(".py")
