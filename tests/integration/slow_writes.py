"""Run a CLI module with slow atomic writes, for the crash tests: every atomic write of a file named
NAME pauses SECONDS between writing its temporary file and renaming it into place, so a test can
kill the process inside that write. The production write path has no hook for this: the renames
of :mod:`ganbase.io.checkpoint` are slowed by swapping the ``os`` it calls for a wrapper.

    python -m tests.integration.slow_writes SECONDS NAME MODULE [ARGS...]
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from pathlib import Path

from ganbase.io import checkpoint


class SlowRenames:
    """``os`` as :mod:`ganbase.io.checkpoint` sees it, but ``replace`` into ``name`` waits first."""

    def __init__(self, seconds: float, name: str) -> None:
        self.seconds, self.name = seconds, name

    def replace(self, source, target) -> None:
        if Path(target).name == self.name:
            time.sleep(self.seconds)
        os.replace(source, target)

    def __getattr__(self, attribute: str):
        return getattr(os, attribute)


def main() -> None:
    seconds, name, module, *args = sys.argv[1:]
    checkpoint.os = SlowRenames(float(seconds), name)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
