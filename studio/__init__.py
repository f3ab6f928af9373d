"""The SinGAN web studio (``singan serve``): a local web app over :mod:`singan_kit.api` for people
who would rather not use a command line (issue 25).

It sits beside ``cli/``, above the library: it calls :mod:`singan_kit.api` only (never the CLI,
never training internals; ``pyproject.toml``'s ``studio-api-only`` contract enforces it), and keeps
every bit of state in the run folders, so a restart loses nothing. Needs the ``serve`` extra
(FastAPI, uvicorn).
"""

# the defaults of ``singan serve`` (here, not in studio.app, so that the CLI reads them without FastAPI)
HOST = "127.0.0.1"  # loopback only: nobody else on the network can reach the studio
PORT = 8000
RUNS = "runs"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")
