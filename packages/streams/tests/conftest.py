"""Every test runs on the stdlib loop, uvloop and the corolla loop, with a leak check.

The fixtures are shared by all corolla packages: tools/testing (corolla_testing).
"""

from corolla_testing import loop_factory, no_leaks, run

__all__ = ["loop_factory", "no_leaks", "run"]
