"""tariff lines and preferential rates; duty assessments, accounts, payments and guarantees

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guarantee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guarantee'))
    )
    with op.batch_alter_table('guarantee', schema=None) as batch_op:
        batch_op.create_index('ix_guarantee_uscc', ['uscc'], unique=False)

    op.create_table('tariff_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('mfn_rate', sa.String(length=40), nullable=True),
    sa.Column('general_rate', sa.String(length=40), nullable=True),
    sa.Column('provisional_rate', sa.String(length=40), nullable=True),
    sa.Column('specific_rate', sa.String(length=40), nullable=True),
    sa.Column('specific_unit', sa.String(length=3), nullable=True),
    sa.Column('consumption_rate', sa.String(length=40), nullable=True),
    sa.Column('vat_rate', sa.String(length=40), nullable=True),
    sa.Column('licence', sa.String(length=40), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_line')),
    sa.UniqueConstraint('code', 'valid_from', name=op.f('uq_tariff_line_code_valid_from'))
    )
    with op.batch_alter_table('tariff_line', schema=None) as batch_op:
        batch_op.create_index('ix_tariff_line_code', ['code', 'valid_from'], unique=False)

    op.create_table('tariff_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('agreement', sa.String(length=20), nullable=False),
    sa.Column('origins', sa.Text(), nullable=False),
    sa.Column('rate', sa.String(length=40), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_preference')),
    sa.UniqueConstraint('code', 'agreement', 'valid_from', name=op.f('uq_tariff_preference_code_agreement_valid_from'))
    )
    with op.batch_alter_table('tariff_preference', schema=None) as batch_op:
        batch_op.create_index('ix_tariff_preference_code', ['code'], unique=False)

    op.create_table('duty_account',
    sa.Column('declaration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.Enum('unpaid', 'guaranteed', 'paid', name='dutystatus', native_enum=False, length=10), nullable=False),
    sa.Column('due_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('guaranteed_fen', sa.BigInteger(), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_duty_account_declaration_id_declaration')),
    sa.ForeignKeyConstraint(['guarantee_id'], ['guarantee.id'], name=op.f('fk_duty_account_guarantee_id_guarantee')),
    sa.PrimaryKeyConstraint('declaration_id', name=op.f('pk_duty_account'))
    )
    op.create_table('duty_assessment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('declaration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('difference_fen', sa.BigInteger(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_duty_assessment_declaration_id_declaration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_assessment')),
    sa.UniqueConstraint('declaration_id', 'version', name=op.f('uq_duty_assessment_declaration_id_version'))
    )
    with op.batch_alter_table('duty_assessment', schema=None) as batch_op:
        batch_op.create_index('ix_duty_assessment_at', ['assessed_at'], unique=False)

    op.create_table('duty_payment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('declaration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('bank', sa.String(length=120), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_duty_payment_declaration_id_declaration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_payment')),
    sa.UniqueConstraint('reference', name=op.f('uq_duty_payment_reference'))
    )
    with op.batch_alter_table('duty_payment', schema=None) as batch_op:
        batch_op.create_index('ix_duty_payment_decl', ['declaration_id'], unique=False)


def downgrade() -> None:

    with op.batch_alter_table('duty_payment', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_payment_decl')

    op.drop_table('duty_payment')
    with op.batch_alter_table('duty_assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_assessment_at')

    op.drop_table('duty_assessment')
    op.drop_table('duty_account')
    with op.batch_alter_table('tariff_preference', schema=None) as batch_op:
        batch_op.drop_index('ix_tariff_preference_code')

    op.drop_table('tariff_preference')
    with op.batch_alter_table('tariff_line', schema=None) as batch_op:
        batch_op.drop_index('ix_tariff_line_code')

    op.drop_table('tariff_line')
    with op.batch_alter_table('guarantee', schema=None) as batch_op:
        batch_op.drop_index('ix_guarantee_uscc')

    op.drop_table('guarantee')
