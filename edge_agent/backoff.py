"""Exponential backoff with jitter, for everything in the agent that retries: uploads, stream
reconnects and camera restarts."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, initial_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds before retry ``attempt`` (1, 2, ...): up to ``initial * 2**(attempt-1)``, capped at
    ``max_s``, and at least half of that.

    The jitter spreads out many agents (or cameras) that lost the same store or NVR at the same
    moment, so they do not come back in lockstep.
    """
    ceiling = min(max_s, initial_s * (2 ** max(0, attempt - 1)))
    return ceiling * rng.uniform(0.5, 1.0)
