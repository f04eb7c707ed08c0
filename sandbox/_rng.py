"""Stable, cheap pseudo-randomness keyed by integers.

Every value in the sandbox world is a pure function of (seed, keys...), so any account,
post or comment can be regenerated alone, in any order, by any thread: that is what lets a
20,000-account world be served without holding it in memory.
"""

from __future__ import annotations

import math
import random

_MASK = (1 << 64) - 1


def mix(*keys: int) -> int:
    """A 64-bit hash of integer keys: same keys, same value, in every process.

    CPython's tuple hash of ints is not salted (only str/bytes hashes are), so it is stable
    across runs; a splitmix64 finaliser spreads it over 64 bits.
    """
    h = hash(keys) & _MASK
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
    return h ^ (h >> 31)


def unit(*keys: int) -> float:
    """A uniform float in [0, 1) determined by the keys."""
    return (mix(*keys) >> 11) * (1.0 / (1 << 53))


def rng(*keys: int) -> random.Random:
    """A `random.Random` seeded from the keys (for generating one entity's many values)."""
    return random.Random(mix(*keys))


def normal_ppf(p: float) -> float:
    """Inverse standard normal CDF (Acklam's approximation; |error| < 1.2e-9)."""
    p = min(max(p, 1e-12), 1 - 1e-12)
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (
        -54.47609879822406,
        161.5858368580409,
        -155.6989798598866,
        66.80131188771972,
        -13.28068155288572,
    )
    c = (
        -7.784894002430293e-03,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (7.784695709041462e-03, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    if p < 0.02425:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    if p > 1 - 0.02425:
        return -normal_ppf(1 - p)
    q = p - 0.5
    r = q * q
    return (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )


def str_key(text: str) -> int:
    """A stable integer for a string (Python's own str hash is salted per process)."""
    h = 1469598103934665603
    for ch in text.encode():
        h = ((h ^ ch) * 1099511628211) & _MASK
    return h


def pick(u: float, weights: dict[str, float]) -> str:
    """The key whose cumulative weight bracket contains u (u in [0, 1))."""
    total = sum(weights.values())
    acc = 0.0
    last = ""
    for key, w in weights.items():
        acc += w / total
        last = key
        if u < acc:
            return key
    return last
