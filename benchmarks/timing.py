"""The one timer the benchmark scripts share: the median wall time of a call."""

import statistics
import time


def median_seconds(fn, repeats=10, warmup=1):
    """Median seconds of `repeats` calls of `fn()`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
