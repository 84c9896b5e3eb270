"""Manual additions to the cohort (issue 19.5): a person the model did not rank in the cohort,
added by a DAPST user with a reason (e.g. a partner agency's referral). New table only.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "manual_additions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.String(128), nullable=False, index=True),
        sa.Column("iteration", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("audit_id", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("manual_additions")
