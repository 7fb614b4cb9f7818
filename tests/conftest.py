"""Hypothesis settings profiles for the property tests.

* ``ci`` (the default): deterministic (``derandomize``), sized so that
  `tests/test_equivalence.py` runs in about a minute or two on a 2-core machine
  with the JIT.
* ``quick``: few examples, short command sequences, no shrinking; chosen
  automatically when ``NUMBA_DISABLE_JIT=1`` (the kernels then run as Python,
  so coverage can see them, at a fraction of the speed).
* ``thorough``: long local runs, ``HYPOTHESIS_PROFILE=thorough``.

``HYPOTHESIS_PROFILE`` names any of them explicitly.
"""
import os

from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow],
               print_blob=True)

settings.register_profile("ci", max_examples=200, stateful_step_count=60,
                          derandomize=True, **_COMMON)
# quick: no shrinking, it is a coverage run (the JIT run shrinks what it finds)
settings.register_profile("quick", max_examples=80, stateful_step_count=40,
                          derandomize=True, phases=[Phase.explicit, Phase.reuse,
                                                    Phase.generate], **_COMMON)
settings.register_profile("thorough", max_examples=5000, stateful_step_count=150,
                          **_COMMON)


def _profile() -> str:
    explicit = os.environ.get("HYPOTHESIS_PROFILE")
    if explicit:
        return explicit
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return "quick"
    return "ci"


settings.load_profile(_profile())
