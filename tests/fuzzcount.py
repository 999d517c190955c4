"""How many fuzzed inputs each category tried (conftest prints it at the end of the run),
and how many each fuzz test tries: many in CI, a quick sample locally.

CI runs every category with at least ``CI_PER_CATEGORY`` inputs.  A test that
shares its category with others asks for its part: ``fuzz(share=3)`` in a
category of three tests.  The ``ci`` profile of conftest.py makes the examples
a fixed sequence (``derandomize``), so CI sees the same inputs every run.
"""
import math
import os
from collections import Counter

from hypothesis import HealthCheck, settings

FUZZED = Counter()

IN_CI = "CI" in os.environ
CI_PER_CATEGORY = 1000


def fuzz(share: int = 1, local: int = 150) -> settings:
    """Hypothesis settings for a fuzz test that is one of ``share`` tests of its category.

    In CI: ``ceil(CI_PER_CATEGORY / share)`` examples; otherwise ``local`` examples.
    """
    examples = math.ceil(CI_PER_CATEGORY / share) if IN_CI else local
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
