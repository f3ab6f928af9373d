"""The training worker of the web studio: runs in its own process, calls
:func:`singan_kit.api.train_run` and writes the live state to ``<run>/studio_progress.json``.

The progress file holds ``state`` (``training``, ``done``, ``interrupted``, ``failed``), the level in
progress, its iteration and iteration count, an ETA, the summaries of the finished levels and the
last error; it is written atomically, at most a few times a second. It is only ever a display:
what a run holds is decided by its config.json.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ganbase.errors import TrainingInterrupted, UserError
from ganbase.io.checkpoint import atomic_write_json, read_json
from ganbase.runtime.device import resolve_device
from singan_kit import api

PROGRESS_FILE = "studio_progress.json"
WRITE_SECONDS = 0.25  # how often the live state is written at most


def read_progress(run_dir: Path) -> dict:
    """The run's progress file, or ``{}`` when it has none or it is unreadable."""
    try:
        data = read_json(run_dir / PROGRESS_FILE)
    except (UserError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class ProgressWriter:
    """Turns the trainer's callbacks into the progress file (with an ETA from the rate so far)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.state = {**read_progress(run_dir), "state": "training", "error": None, "pid": os.getpid()}
        self.state.setdefault("scales", [])
        self.parent = os.getppid()
        self.started = time.monotonic()
        self.start_fraction: float | None = None
        self.last_write = 0.0

    def begin(self) -> None:
        status = api.run_status(self.run_dir)
        done = status["scales_done"]
        self.state["scales"] = self.state["scales"][:done]  # a resumed run redoes what was not committed
        self.state.update(num_scales=status["num_scales"], sizes=status["sizes"], scale=done, iteration=0,
                          level_iters=status["level_iters"], iters=self.level_iters(done), eta_seconds=None)
        self.write(force=True)

    def created(self, notes: list[str]) -> None:
        """The new run folder is written (the trainer's ``on_notes``): its first state can be too."""
        self.state["notes"] = notes
        self.begin()

    def on_iteration(self, scale: int, iteration: int) -> None:
        if os.getppid() != self.parent:  # the server is gone: stop as Ctrl-C would (checkpoint kept)
            raise KeyboardInterrupt
        iters = self.level_iters(scale)
        self.state.update(scale=scale, iteration=iteration, iters=iters)
        counts = self.state.get("level_iters") or [1] * (self.state.get("num_scales") or 1)
        # done share of all iterations (levels of different sizes counted alike: a rough ETA)
        fraction = (sum(counts[:scale]) + min(iteration, iters or 1)) / max(1, sum(counts))
        if self.start_fraction is None:
            self.start_fraction, self.started = fraction, time.monotonic()
        elapsed, gained = time.monotonic() - self.started, fraction - self.start_fraction
        self.state["eta_seconds"] = round(elapsed / gained * (1 - fraction), 1) if gained > 0 and elapsed > 1 else None
        self.write()

    def level_iters(self, scale: int) -> int | None:
        counts = self.state.get("level_iters") or []
        return counts[scale] if scale < len(counts) else None

    def on_scale_end(self, summary) -> None:
        self.state["scales"].append({"scale": summary.scale, "size": list(summary.size), "iters": summary.iters,
                                     "seconds": round(summary.seconds, 2), "d_loss": summary.d_loss,
                                     "g_adv": summary.g_adv, "rec_loss": summary.rec_loss,
                                     "line": summary.line()})
        self.state.update(scale=summary.scale + 1, iteration=0, iters=self.level_iters(summary.scale + 1))
        self.write(force=True)

    def end(self, state: str, error: str | None = None) -> None:
        self.state.update(state=state, error=error, eta_seconds=None, pid=None)
        self.write(force=True)

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last_write >= WRITE_SECONDS:
            self.state["updated"] = time.time()
            atomic_write_json(self.run_dir / PROGRESS_FILE, self.state)
            self.last_write = now


def run_job(run_dir: str, job: dict, checkpoint_seconds: float) -> None:
    """Train (or resume) one run; the worker process's entry point. Errors end up in the progress file."""
    run = Path(run_dir)
    writer = ProgressWriter(run)
    options = dict(device=resolve_device("auto"), progress=False, on_iteration=writer.on_iteration,
                   on_scale_end=writer.on_scale_end, checkpoint_seconds=checkpoint_seconds)
    try:
        if job["resume"]:
            writer.begin()
            api.train_run(None, run, resume=True, **options)
        else:
            config = api.make_config(job["preset"], **job["overrides"])
            api.train_run(job["image"], run, config, on_notes=writer.created, **options)
    except (TrainingInterrupted, KeyboardInterrupt):
        writer.end("interrupted")
        return
    except UserError as exc:
        writer.end("failed", str(exc))
        return
    writer.end("done")


def finish(run_dir: Path, exitcode: int | None, stopped: bool) -> None:
    """After the worker ended: a worker that died without saying so is marked interrupted or failed."""
    progress = read_progress(run_dir)
    if run_dir.is_dir() and progress.get("state", "training") == "training":
        state = "interrupted" if stopped else "failed"
        atomic_write_json(run_dir / PROGRESS_FILE, {**progress, "state": state, "pid": None,
                                                    "error": None if stopped else f"worker exited with code {exitcode}"})
