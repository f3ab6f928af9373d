"""The run-folder lock: one process at a time trains into a run folder (SinGAN, the zoo, and the
applications that train into a run), so two jobs never mix their weights in one folder. No paper.

The lock is ``<run>/.lock``, created atomically (``O_CREAT | O_EXCL``) with JSON naming its holder:
pid, host, start time and command. It is removed when the work ends, also on errors and Ctrl-C.
A crash (``kill -9``, power loss) leaves it behind; such a stale lock is taken over when it was
written on this host by a process that no longer exists, or is unreadable and older than
:data:`TORN_SECONDS` (a crash between creating and filling it). A lock of another host cannot be
checked from here: the message names it, and the user deletes it once that job is known to be dead.
The same rule decides stale torchrun claims (:mod:`singan_kit.batch.sharding`).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from ganbase.errors import UserError

LOCK_FILE = ".lock"
TORN_SECONDS = 10.0  # an unreadable lock younger than this may be one being written right now
_held: dict[Path, int] = {}  # lock files this process holds -> how many nested holders


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except (OverflowError, ValueError):  # not a pid at all
        return False
    return True


def read_holder(path: Path) -> dict | None:
    """The lock's JSON, or None when it is missing, torn or not a lock."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        int(record["pid"]), str(record["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record


def holder_is_stale(record: dict | None, path: Path) -> bool:
    """The takeover rule of the module docstring."""
    if record is None:
        try:
            return time.time() - path.stat().st_mtime > TORN_SECONDS
        except FileNotFoundError:
            return True
    if record["host"] != socket.gethostname():
        return False
    pid = int(record["pid"])
    return pid == os.getpid() or not pid_alive(pid)  # our own pid: a lock of an earlier, failed try


def describe_holder(record: dict | None) -> str:
    if record is None:
        return "a process that is writing its lock right now"
    return (f"pid {record['pid']} on {record['host']} since {record.get('started', '?')}"
            f" ({record.get('command', '?')})")


class RunLock:
    """``with RunLock(run_dir, "singan train"):`` holds ``run_dir/.lock`` (creating the folder).
    Raises :class:`UserError` naming the holder when another live process holds it. Nested use in
    one process (an application that trains through the training lifecycle) shares the lock."""

    def __init__(self, run_dir: str | os.PathLike, command: str) -> None:
        self.run_dir = Path(run_dir)
        self.command = command
        self.path = self.run_dir.resolve() / LOCK_FILE
        self.created: list[Path] = []

    def __enter__(self) -> RunLock:
        if self.path in _held:
            _held[self.path] += 1
            return self
        # the folders this lock creates, removed again if the work leaves them empty (bad input)
        self.created = [folder for folder in (self.path.parent, *self.path.parent.parents) if not folder.exists()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = "part of that path is a file, not a folder" if exc.errno == errno.ENOTDIR else exc.strerror
            raise UserError(f"cannot create the run folder {self.run_dir}: {reason}") from None
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": self.command}
        for _ in range(5):  # a few tries: another process may take over the same stale lock
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                held = read_holder(self.path)
                if not holder_is_stale(held, self.path):
                    raise UserError(f"{self.run_dir} is in use by {describe_holder(held)}; wait for it "
                                    f"to finish, or delete {self.path} if that process is dead") from None
                _move_aside(self.path, held)
                continue
            except OSError as exc:
                raise UserError(f"cannot lock the run folder {self.run_dir}: {exc.strerror}") from None
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
            _held[self.path] = 1
            return self
        raise UserError(f"cannot lock the run folder {self.run_dir}: other processes keep taking it")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        _held[self.path] -= 1
        if _held[self.path] == 0:
            del _held[self.path]
            if (read_holder(self.path) or {}).get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            for folder in self.created:  # bad input found after locking leaves no empty folder behind
                try:
                    folder.rmdir()
                except OSError:  # not empty: the run
                    break


def remove_lock_of(run_dir: str | os.PathLike, holder: dict | None) -> None:
    """Remove ``run_dir``'s lock if ``holder`` (a pid and host known to be dead, such as a torchrun
    claim taken over from a crashed job on another host) holds it."""
    path = Path(run_dir).resolve() / LOCK_FILE
    held = read_holder(path)
    if held is not None and holder is not None and (str(held["host"]), int(held["pid"])) == (
            str(holder.get("host")), int(holder.get("pid", -1))):
        _move_aside(path, held)


def _move_aside(path: Path, stale: dict | None) -> None:
    """Remove the stale lock ``stale`` unless another process replaced it by a live one meanwhile."""
    aside = path.with_name(f"{path.name}.{os.getpid()}.stale")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # another process removed it first
    if read_holder(aside) != stale:  # a fresh lock taken between our read and our rename: put it back
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
    aside.unlink(missing_ok=True)


__all__ = ["LOCK_FILE", "RunLock", "describe_holder", "holder_is_stale", "pid_alive", "read_holder", "remove_lock_of"]
