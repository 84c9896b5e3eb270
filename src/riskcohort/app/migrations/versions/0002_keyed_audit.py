"""Keyed audit chain, sealed decisions, login throttle with backoff (keeps all data).

- ``audit_head`` gains ``key_id`` and ``mac``; existing rows stay as they are until the app first
  opens the database with a key (``audit.ensure_keyed`` verifies the old SHA-256 chain, re-links
  it with the key and records that in an ``audit_keyed`` row).
- ``decisions`` gains ``audit_id`` (the audit row that sealed it); old decisions are sealed at
  the same moment.
- ``login_failures`` (one row per failure) becomes ``login_throttle`` (one row per user name and
  address); recent failures are carried over as counts.

Revision ID: 0002
Revises: 0001
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("key_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("audit_id", sa.Integer, nullable=True))
    throttle = op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("ip", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Integer, nullable=False),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT username, ip, COUNT(*) AS n, MAX(at) AS last_at FROM login_failures "
        "WHERE at > :since GROUP BY username, ip"), {"since": int(time.time()) - 900}).all()
    if rows:
        op.bulk_insert(throttle, [{"username": r.username, "ip": r.ip, "failures": int(r.n),
                                   "last_at": int(r.last_at), "next_at": 0} for r in rows])
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("at", sa.Integer, nullable=False, index=True),
    )
    op.drop_table("login_throttle")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("audit_id")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("mac")
        batch.drop_column("key_id")
