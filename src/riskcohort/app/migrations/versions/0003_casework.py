"""Casework (issue 19.3/19.4): plans, tactics, plan reviews and alert acknowledgements.

New tables only; nothing existing is altered, so an upgrade from 0002 keeps every row. Every
table carries ``audit_id`` (the audit row that sealed it, ``audit.seal_row``).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.String(128), nullable=False, index=True),
        sa.Column("team", sa.String(64), nullable=False, index=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("next_review", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("last_review_at", sa.String(40), nullable=True),
        sa.Column("closed_at", sa.String(40), nullable=True),
        sa.Column("exit_reason", sa.String(32), nullable=True),
        sa.Column("audit_id", sa.Integer, nullable=True),
    )
    op.create_table(
        "tactics",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan_id", sa.Integer, nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("other_text", sa.String(200), nullable=True),
        sa.Column("start_date", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("review_date", sa.String(10), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("end_date", sa.String(10), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("ended_at", sa.String(40), nullable=True),
        sa.Column("audit_id", sa.Integer, nullable=True),
    )
    op.create_table(
        "plan_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan_id", sa.Integer, nullable=False, index=True),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("exit_reason", sa.String(32), nullable=True),
        sa.Column("next_review", sa.String(10), nullable=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("audit_id", sa.Integer, nullable=True),
    )
    op.create_table(
        "alert_acks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_key", sa.String(300), nullable=False, index=True),
        sa.Column("person_id", sa.String(128), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("audit_id", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    for name in ("alert_acks", "plan_reviews", "tactics", "plans"):
        op.drop_table(name)
