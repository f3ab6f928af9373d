"""CPU thread planning: use only the cores nobody else is using.

On a small machine, PyTorch's intra-op threads wait for each other at every operator; when another
busy process holds one of the cores, each wait lasts a scheduler time slice. Measured on a 2-core
machine beside one busy process: 2 threads made a small-image SinGAN iteration ~50x slower than 1
thread. ``CoreMonitor`` measures how many cores other processes keep busy (Linux ``/proc/stat``
minus this process's own CPU time), and ``plan_threads`` picks a thread count from that and from
the size of the work: tiny tensors get one thread either way, as threads cost more than they gain.
"""

from __future__ import annotations

import contextlib
import os
import time


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _read_busy_seconds() -> float | None:
    """Seconds all CPUs spent busy since boot, from /proc/stat (None where unavailable)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(v) for v in fields[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    busy = sum(ticks[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


class CoreMonitor:
    """Tracks how many cores other processes have kept busy since the last reading."""

    def __init__(self) -> None:
        self.cores = usable_cores()
        self._last = self._snapshot()

    def _snapshot(self) -> tuple[float, float | None, float]:
        return time.monotonic(), _read_busy_seconds(), _own_seconds()

    def seconds_since_reading(self) -> float:
        return time.monotonic() - self._last[0]

    def other_busy_cores(self, min_window: float = 0.2) -> float:
        """Average cores used by other processes since the last call (waits ``min_window`` s if
        less time has passed). Returns 0 where /proc/stat is unavailable."""
        then_wall, then_busy, then_own = self._last
        if time.monotonic() - then_wall < min_window:
            time.sleep(min_window - (time.monotonic() - then_wall))
        now = self._snapshot()
        self._last = now
        if then_busy is None or now[1] is None:
            return 0.0
        elapsed = max(now[0] - then_wall, 1e-6)
        others = (now[1] - then_busy) - (now[2] - then_own)
        return max(0.0, others / elapsed)


def plan_threads(work: float, free_cores: float, max_threads: int, small_work: float = 500_000) -> int:
    """Threads for ``work`` (any size measure, e.g. H*W*C_in*C_out of the main convolution).

    Below ``small_work`` one thread; above it, the cores that are free (rounded down, at least one,
    at most ``max_threads``).
    """
    if work < small_work:
        return 1
    return max(1, min(max_threads, int(free_cores + 0.3)))


@contextlib.contextmanager
def restored_threads(count: int | None = None):
    """Run the block with ``count`` torch intra-op threads (None: leave the count as it is; the
    block may change it) and give the caller's count back afterwards, also on errors."""
    import torch  # this module's planning helpers stay importable without torch

    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
