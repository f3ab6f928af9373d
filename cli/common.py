"""Pieces both CLIs (``singan``, ``ganzoo``) share: one-line errors and checked number options.

Every problem the user can fix ends as exactly one ``Error: ...`` line on stderr and a non-zero
exit: usage errors (bad option values, with click's "Usage:" preamble dropped), library
:class:`~ganbase.errors.UserError` (Ctrl-C during training: exit 130), and OS errors such as an
unwritable output path. Number options use the range types below, so a bad number (``0``,
negative, ``nan``, ``inf``) is refused before any work starts. No paper.
"""

from __future__ import annotations

import errno
import math
import sys
from typing import Any

import click

from ganbase.errors import UserError


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


class OneLineErrorGroup(click.Group):
    """A click group whose errors (usage or user errors) print as a single ``Error:`` line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            result = super().main(args, prog_name or self.name, complete_var,
                                  standalone_mode=False, **extra)
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
POSITIVE_FLOAT = FiniteFloatRange(min=0, min_open=True)
NON_NEGATIVE_FLOAT = FiniteFloatRange(min=0)
FRACTION = FiniteFloatRange(min=0, max=1)
