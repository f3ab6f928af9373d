"""The training queue of the web studio: one job at a time, each in its own worker process.

Training runs in a spawned process (:func:`studio.worker.run_job`), so the server stays responsive
and a crash in training cannot take it down. The queue itself lives in memory; what matters lives in
the run folders (config.json commits each scale, the worker's ``studio_progress.json`` the live
state), so after a restart an unfinished run shows as interrupted and resumes from its checkpoint.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from studio import worker

logger = logging.getLogger(__name__)


@dataclass
class Job:
    """One queued training: a new run on ``image`` with ``preset`` (+ ``overrides``), or a resume."""

    name: str  # the run folder's name inside the runs folder
    image: str | None = None
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    resume: bool = False


class JobQueue:
    """Runs :class:`Job` s one after another in worker processes; ``stop`` interrupts one cleanly."""

    def __init__(self, runs_dir: Path, checkpoint_seconds: float = 10.0) -> None:
        self.runs_dir = runs_dir
        self.checkpoint_seconds = checkpoint_seconds  # a stop loses at most this much of a scale
        self._pending: deque[Job] = deque()
        self._active: Job | None = None
        self._process: multiprocessing.Process | None = None
        self._stopping = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="studio-jobs", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._cond:
            self._pending.append(job)
            self._cond.notify_all()

    def busy(self, name: str) -> bool:
        """Whether the run ``name`` is training or waiting in the queue."""
        with self._cond:
            return (self._active is not None and self._active.name == name) or any(j.name == name for j in self._pending)

    def snapshot(self) -> dict:
        """``active`` (the training job's name or None) and ``queue`` (names waiting, in order)."""
        with self._cond:
            return {"active": self._active.name if self._active else None,
                    "queue": [job.name for job in self._pending]}

    def stop(self, name: str) -> bool:
        """Interrupt the run ``name`` (Ctrl-C in its worker: the last checkpoint is kept) or take it
        out of the queue; False when it is neither."""
        with self._cond:
            for job in list(self._pending):
                if job.name == name:
                    self._pending.remove(job)
                    return True
            if self._active is None or self._active.name != name or self._process is None:
                return False
            self._stopping = True
            if self._process.pid is not None:
                os.kill(self._process.pid, signal.SIGINT)
            return True

    def idle(self) -> bool:
        with self._cond:
            return self._active is None and not self._pending

    def close(self, timeout: float = 30.0) -> None:
        """Stop the active job (its checkpoint is kept), drop the queue and wait for the worker."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            active = self._active
            self._cond.notify_all()
        if active is not None:
            self.stop(active.name)
        self._thread.join(timeout)

    def _loop(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded server with torch in it
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._pending.popleft()
                self._active, self._stopping = job, False
                self._process = context.Process(target=worker.run_job, name=f"studio-train-{job.name}",
                                                args=(str(self.runs_dir / job.name), asdict(job),
                                                      self.checkpoint_seconds), daemon=True)
                try:
                    self._process.start()
                except (OSError, RuntimeError) as exc:  # no process to be had: this job fails, the queue goes on
                    logger.error("cannot start the training of %s: %s", job.name, str(exc).strip().splitlines()[0])
                    self._active, self._process = None, None
                    continue
            self._process.join()
            worker.finish(self.runs_dir / job.name, self._process.exitcode, self._stopping)
            with self._cond:
                self._active, self._process = None, None
                self._cond.notify_all()
