"""How the property tests run: the state machines (``test_gate_properties``,
``test_probability_properties``) and the ``@given`` tests (``test_stage_tasks_background``).

CI replays the same bounded examples on every run, without shrinking a
failing one. ``SPA_GATE_EXAMPLES`` asks for more examples and explores new
ones; ``SPA_GATE_STEPS`` for longer sequences of a state machine;
``SPA_GATE_SHRINK=1`` shrinks a failing example (it can take minutes).
"""

import os

from hypothesis import HealthCheck, Phase, settings


def property_settings(examples, **options):
    """Hypothesis settings for a property test: ``examples`` examples by default."""
    return settings(
        max_examples=int(os.environ.get("SPA_GATE_EXAMPLES", examples)),
        deadline=None,
        derandomize="SPA_GATE_EXAMPLES" not in os.environ,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate]
        + ([Phase.shrink] if os.environ.get("SPA_GATE_SHRINK") else []),
        suppress_health_check=list(HealthCheck),
        **options,
    )


def stateful_settings(examples, steps):
    """Hypothesis settings for a state machine: ``examples`` sequences of ``steps`` steps by default."""
    return property_settings(examples, stateful_step_count=int(os.environ.get("SPA_GATE_STEPS", steps)))
