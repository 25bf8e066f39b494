"""risk model library: labelled history and the model registry

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('risk_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('declaration_id', sa.String(length=80), nullable=False),
    sa.Column('declared_on', sa.Date(), nullable=False),
    sa.Column('office', sa.String(length=8), nullable=True),
    sa.Column('declarant_id', sa.String(length=40), nullable=True),
    sa.Column('importer_id', sa.String(length=40), nullable=False),
    sa.Column('consignor_id', sa.String(length=200), nullable=True),
    sa.Column('carrier_id', sa.String(length=40), nullable=True),
    sa.Column('hs_code', sa.String(length=10), nullable=False),
    sa.Column('origin_country', sa.String(length=2), nullable=False),
    sa.Column('departure_country', sa.String(length=2), nullable=True),
    sa.Column('transport_mode', sa.String(length=12), nullable=True),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('net_mass_kg', sa.Float(), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('duty_rate', sa.Float(), nullable=True),
    sa.Column('label_fraud', sa.Integer(), nullable=False),
    sa.Column('label_critical', sa.Integer(), nullable=True),
    sa.Column('revenue_recovered', sa.Float(), nullable=True),
    sa.Column('extras', sa.JSON(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_history')),
    sa.UniqueConstraint('source', 'declaration_id', name=op.f('uq_risk_history_source_declaration_id'))
    )
    with op.batch_alter_table('risk_history', schema=None) as batch_op:
        batch_op.create_index('ix_risk_history_declared_on', ['declared_on'], unique=False)

    op.create_table('risk_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('procedure', sa.String(length=20), nullable=False),
    sa.Column('role', sa.Enum('registered', 'champion', 'challenger', 'retired', name='modelrole', native_enum=False, length=12), nullable=False),
    sa.Column('train_from', sa.Date(), nullable=False),
    sa.Column('train_until', sa.Date(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('positives', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('score_histogram', sa.JSON(), nullable=False),
    sa.Column('artefact', sa.LargeBinary(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_model')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_risk_model_name_version'))
    )
    with op.batch_alter_table('risk_model', schema=None) as batch_op:
        batch_op.create_index('ix_risk_model_role', ['role', 'procedure'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('risk_model', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_model_role')

    op.drop_table('risk_model')
    with op.batch_alter_table('risk_history', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_history_declared_on')

    op.drop_table('risk_history')
