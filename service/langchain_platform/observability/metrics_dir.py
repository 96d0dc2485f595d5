"""Where several workers' metrics meet: the variable prometheus_client reads its directory from.

A module of its own so that ``serve``'s supervisor of several workers, which only sets it, imports
neither prometheus_client nor Litestar (metrics.py needs both).
"""

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
