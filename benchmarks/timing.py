"""What the latency benchmarks share: timing a call after a warm-up, percentiles in ms."""

import time

import numpy as np


def timed(function, repeats: int) -> list[float]:
    """Seconds of `repeats` calls of function(), after two warm-up calls (tracing, allocator)."""
    function()
    function()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def percentile_ms(seconds: list[float], q: float) -> float:
    return 1000 * float(np.percentile(seconds, q))
