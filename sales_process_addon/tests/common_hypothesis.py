"""How the stateful property tests run (``test_gate_properties``, ``test_probability_properties``).

CI replays the same bounded sequences on every run, without shrinking a
failing one. ``SPA_GATE_EXAMPLES`` asks for more sequences and explores new
ones; ``SPA_GATE_STEPS`` for longer ones; ``SPA_GATE_SHRINK=1`` shrinks a
failing sequence (it can take minutes).
"""

import os

from hypothesis import HealthCheck, Phase, settings


def stateful_settings(examples, steps):
    """Hypothesis settings for a state machine: ``examples`` sequences of ``steps`` steps by default."""
    return settings(
        max_examples=int(os.environ.get("SPA_GATE_EXAMPLES", examples)),
        stateful_step_count=int(os.environ.get("SPA_GATE_STEPS", steps)),
        deadline=None,
        derandomize="SPA_GATE_EXAMPLES" not in os.environ,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate]
        + ([Phase.shrink] if os.environ.get("SPA_GATE_SHRINK") else []),
        suppress_health_check=list(HealthCheck),
    )
