"""Alembic migrations of the app database (a package so wheels ship them)."""
