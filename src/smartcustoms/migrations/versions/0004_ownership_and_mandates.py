"""ownership fixed at lodging (the importer's enterprise on the declaration) and electronic mandates

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _party(dialect: str, party: str) -> str:
    """The USCC of a party in version 1's payload (the content as lodged)."""
    if dialect == 'postgresql':
        return f"(v.payload -> '{party}' ->> 'uscc')"
    return f"json_extract(v.payload, '$.{party}.uscc')"


def upgrade() -> None:
    op.create_table('mandate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('importer_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('broker_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('procedures', sa.JSON(), nullable=True),
    sa.Column('offices', sa.JSON(), nullable=True),
    sa.Column('granted_by', sa.String(length=120), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sa.String(length=120), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['broker_enterprise_id'], ['enterprise.id'], name=op.f('fk_mandate_broker_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['importer_enterprise_id'], ['enterprise.id'], name=op.f('fk_mandate_importer_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate'))
    )
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.create_index('ix_mandate_broker', ['broker_enterprise_id'], unique=False)
        batch_op.create_index('ix_mandate_parties', ['importer_enterprise_id', 'broker_enterprise_id'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        # SQLite adds a column with its reference in place (a batch copy of the table would have to
        # drop the declaration table, which its versions and events refer to).
        op.execute('ALTER TABLE declaration ADD COLUMN trader_enterprise_id INTEGER '
                   'CONSTRAINT fk_declaration_trader_enterprise_id_enterprise REFERENCES enterprise (id)')
    else:
        op.add_column('declaration', sa.Column('trader_enterprise_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_declaration_trader_enterprise_id_enterprise'), 'declaration', 'enterprise',
                              ['trader_enterprise_id'], ['id'])
    op.create_index('ix_declaration_trader_enterprise', 'declaration', ['trader_enterprise_id', 'lodged_at'], unique=False)

    # Backfill: the parties as lodged (version 1), which an amendment could change until now, and
    # the importer/exporter's enterprise. The owner, the lodging enterprise, was always kept.
    version_one = 'FROM declaration_version v WHERE v.declaration_id = declaration.id AND v.version = 1'
    declarant = _party(dialect, 'declarant')
    trader = f"COALESCE({_party(dialect, 'importer')}, {_party(dialect, 'exporter')})"
    op.execute(f'UPDATE declaration SET declarant_uscc = COALESCE((SELECT {declarant} {version_one}), declarant_uscc), '
               f'trader_uscc = COALESCE((SELECT {trader} {version_one}), trader_uscc)')
    op.execute('UPDATE declaration SET trader_enterprise_id = '
               '(SELECT e.id FROM enterprise e WHERE e.uscc = declaration.trader_uscc)')


def downgrade() -> None:
    op.drop_index('ix_declaration_trader_enterprise', table_name='declaration')
    with op.batch_alter_table('declaration', schema=None) as batch_op:
        batch_op.drop_column('trader_enterprise_id')
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.drop_index('ix_mandate_parties')
        batch_op.drop_index('ix_mandate_broker')
    op.drop_table('mandate')
