"""User-facing error types shared by ganbase and singan_kit.

Library code raises :class:`UserError` for problems the user can fix (bad file, bad option,
corrupt run folder); the CLI turns it into one line on stderr and a non-zero exit.
"""


class UserError(Exception):
    """An error caused by the user's input, with a message meant to be shown as is."""

    exit_code = 1


class TrainingInterrupted(UserError):
    """Ctrl-C: training stopped after saving what it had; the CLIs exit with 130 (128 + SIGINT)."""

    exit_code = 130
