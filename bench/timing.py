"""How the bench modules time an action: the median of a few runs, in milliseconds."""

import statistics
import time
from collections.abc import Callable


def median_ms(action: Callable[[], object], repeat: int = 5) -> float:
    """Run `action` `repeat` times; the median wall-clock time of one run, in milliseconds.

    The median, not the mean: one run slowed by a garbage collection or a disk flush should not
    move the figure.
    """
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
