"""guarantee debits: every amount of a declaration's duties secured against a guarantee, restored to that guarantee

A reassessment that raises secured duties may secure the extra against another guarantee; the
payment (or the declaration's rejection or withdrawal) restores each debit to its own guarantee.
The debits secured before this migration are the duty accounts' (one guarantee each).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guarantee_debit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('declaration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('debited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('restored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('restored_by', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_guarantee_debit_declaration_id_declaration')),
    sa.ForeignKeyConstraint(['guarantee_id'], ['guarantee.id'], name=op.f('fk_guarantee_debit_guarantee_id_guarantee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guarantee_debit'))
    )
    with op.batch_alter_table('guarantee_debit', schema=None) as batch_op:
        batch_op.create_index('ix_guarantee_debit_decl', ['declaration_id'], unique=False)
    op.execute(
        "INSERT INTO guarantee_debit (declaration_id, guarantee_id, amount_fen, debited_at) "
        "SELECT declaration_id, guarantee_id, guaranteed_fen, updated_at FROM duty_account "
        "WHERE guaranteed_fen > 0 AND guarantee_id IS NOT NULL ORDER BY declaration_id"
    )


def downgrade() -> None:
    with op.batch_alter_table('guarantee_debit', schema=None) as batch_op:
        batch_op.drop_index('ix_guarantee_debit_decl')
    op.drop_table('guarantee_debit')
