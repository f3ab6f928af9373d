"""Pieces both CLIs (``singan``, ``ganzoo``) share: one-line errors, checked number options and
the options many commands have (``--device``, ``--seed``, ``--quiet``, ``--threads``, ``--out``).

Every problem the user can fix ends as exactly one ``Error: ...`` line on stderr and a non-zero
exit: usage errors (bad option values, with click's "Usage:" preamble dropped), library
:class:`~ganbase.errors.UserError` (Ctrl-C during training: exit 130), and OS errors such as an
unwritable output path. Number options use the range types below, so a bad number (``0``,
negative, ``nan``, ``inf``) is refused before any work starts. The shared options are declared
once below as decorators; each command passes only the help (or default) that differs. No paper.
"""

from __future__ import annotations

import errno
import inspect
import io
import math
import os
import sys
from typing import Any, Callable

import click

from ganbase.errors import UserError
from ganbase.io.run_safety import check_output_not_in_run


def click_error(exc: BaseException) -> click.ClickException:
    """The one-line click error for a library error (keeping its exit code) or an OS error."""
    if isinstance(exc, OSError):
        return click.ClickException(os_error_message(exc))
    error = click.ClickException(str(exc))
    error.exit_code = getattr(exc, "exit_code", 1)
    return error


def os_error_message(exc: OSError) -> str:
    """A message naming the path and the problem, for the OS errors bad output paths cause."""
    name = exc.filename
    if name is None:
        return str(exc.strerror or exc)
    if exc.errno == errno.ENOTDIR:
        return f"cannot write {name}: part of that path is a file, not a folder"
    if exc.errno == errno.EEXIST:
        return f"cannot create the folder {name}: a file of that name exists"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {name}: {(exc.strerror or 'not allowed').lower()}"
    return f"{exc.strerror or exc}: {name}"


def silence_closed_stdout() -> None:
    """Send the rest of stdout to the null device once its reader closed the pipe, so that neither
    later output nor the flush at exit reports the broken pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # stdout is no file (tests capture it)
        pass


class OneLineErrorGroup(click.Group):
    """A click group whose errors (usage or user errors) print as a single ``Error:`` line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            result = super().main(args, prog_name or self.name, complete_var,
                                  standalone_mode=False, **extra)
            sys.stdout.flush()  # a reader that closed the pipe (`| head -1`) shows here, not at exit
        except BrokenPipeError:
            silence_closed_stdout()
            sys.exit(0)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:  # Ctrl-C outside training
            click.echo("Error: interrupted", err=True)
            sys.exit(130)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # the reader of stdout had enough (`| head -1`): not an error
            silence_closed_stdout()
            raise click.exceptions.Exit(0) from None
        except (UserError, OSError) as exc:
            raise click_error(exc) from None
        except MemoryError:
            raise click.ClickException("out of memory: try smaller images or a smaller batch size") from None


class FiniteFloatRange(click.FloatRange):
    """A float option in a range that also refuses ``nan`` and ``inf``."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


#: option types of the shapes both CLIs need
POSITIVE_INT = click.IntRange(min=1)
NON_NEGATIVE_INT = click.IntRange(min=0)
SEED = click.IntRange(min=0, max=2**63 - 1)  # what torch.Generator.manual_seed and numpy both take
POSITIVE_FLOAT = FiniteFloatRange(min=0, min_open=True)
NON_NEGATIVE_FLOAT = FiniteFloatRange(min=0)
FRACTION = FiniteFloatRange(min=0, max=1)


# ---------------------------------------------------------------------- shared options
def library_default(function: Callable, parameter: str) -> Any:
    """The default of ``parameter`` in the signature of the library's ``function``: an option
    takes the library's default instead of repeating it."""
    return inspect.signature(function).parameters[parameter].default


class LibraryDefault:
    """An option default read from the library when the option is shown or parsed, not when the
    CLI module is imported (so a constant of the training code loads it for that command only);
    ``--help`` shows its value."""

    def __init__(self, read: Callable[[], Any]) -> None:
        self.read = read

    def __call__(self) -> Any:
        return self.read()

    def __str__(self) -> str:
        return str(self.read())


DEVICE_HELP = "auto, cpu, cuda or cuda:N."


def device_option(help: str | None = DEVICE_HELP):
    """``--device`` (default ``auto``): where torch runs."""
    return click.option("--device", default="auto", show_default=True, help=help)


def seed_option(help: str | None = "Random seed.", default: int | None = 0, type: click.ParamType = SEED):
    """``--seed``; a default of None (the command's settings decide) is not shown."""
    return click.option("--seed", type=type, default=default, show_default=default is not None, help=help)


def quiet_option(help: str = "No progress bar."):
    """``--quiet`` / ``-q``: print less (what is left out is the ``help``)."""
    return click.option("--quiet", "-q", is_flag=True, help=help)


def threads_option(help: str = "CPU threads for torch."):
    """``--threads`` (default: the command's choice): CPU threads for torch."""
    return click.option("--threads", type=POSITIVE_INT, default=None, help=help)


def out_option(help: str | None = None, dest: str = "out", **settings: Any):
    """``--out`` into the parameter ``dest``: what it names (file or folder) is the command's, so
    ``help`` and click ``settings`` (``required``, ``default``, ``type``, ``show_default``) are too.
    It never names a run's own files (:func:`checked_output`)."""
    settings.setdefault("default", None)
    settings.setdefault("callback", checked_output)
    return click.option("--out", dest, help=help, **settings)


# ---------------------------------------------------------------------- data safety (issue 22)
def checked_output(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Option callback of every output path (``--out``, ``--grid``, ``--csv``, ``--compare``): refuse
    one that would overwrite a run's own files (``RUN/config.json``), in one line."""
    if value is not None:
        try:
            check_output_not_in_run(value, param.opts[0])
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
    return value
