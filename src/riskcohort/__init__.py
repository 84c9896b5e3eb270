"""riskcohort: an open engine to rank domestic-abuse perpetrators by risk of serious harm.

The engine supports a human decision; it never makes one. Importing the package first switches
all third-party telemetry off (see :mod:`riskcohort._offline`).
"""

from riskcohort import _offline  # noqa: F401  (must run before any third-party import)

__version__ = "0.1.0"
