"""Keep pytest's --doctest-modules away from the Alembic scripts (they only run inside Alembic)."""

collect_ignore = ["migrations"]
