"""Command-line front ends: ``singan`` (cli/singan.py) and ``ganzoo`` (cli/ganzoo.py).

They only parse arguments and call library functions; user errors become one-line click errors.
"""
