"""labelled history: quantity is optional (many real datasets have none)

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('risk_history', schema=None) as batch_op:
        batch_op.alter_column('quantity', existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE risk_history SET quantity = 1 WHERE quantity IS NULL")
    with op.batch_alter_table('risk_history', schema=None) as batch_op:
        batch_op.alter_column('quantity', existing_type=sa.Float(), nullable=False)
