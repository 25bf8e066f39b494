"""manifests: carriers' manifests, their versions and lines, declarations' transport references

Revision ID: 0015
Revises: 0009
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('manifest',
    sa.Column('id', _BIGID, nullable=False),
    sa.Column('carrier_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('craft', sa.String(length=70), nullable=False),
    sa.Column('voyage', sa.String(length=35), nullable=True),
    sa.Column('port', sa.String(length=5), nullable=False),
    sa.Column('expected_arrival_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('lodged', 'arrived', name='manifeststatus', native_enum=False, length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('arrival', sa.JSON(), nullable=True),
    sa.Column('arrived_on', sa.Date(), nullable=True),
    sa.Column('lodged_by', sa.String(length=120), nullable=False),
    sa.Column('lodged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['carrier_enterprise_id'], ['enterprise.id'], name=op.f('fk_manifest_carrier_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manifest'))
    )
    op.create_index('ix_manifest_carrier', 'manifest', ['carrier_enterprise_id', 'id'], unique=False)
    op.create_table('manifest_version',
    sa.Column('id', _BIGID, nullable=False),
    sa.Column('manifest_id', _BIGID, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor_name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifest.id'], name=op.f('fk_manifest_version_manifest_id_manifest')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manifest_version')),
    sa.UniqueConstraint('manifest_id', 'version', name=op.f('uq_manifest_version_manifest_id_version'))
    )
    op.create_table('manifest_line',
    sa.Column('id', _BIGID, nullable=False),
    sa.Column('manifest_id', _BIGID, nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('bill_of_lading', sa.String(length=35), nullable=False),
    sa.Column('containers', sa.JSON(), nullable=False),
    sa.Column('packages', sa.Integer(), nullable=False),
    sa.Column('gross_mass_kg', sa.String(length=40), nullable=False),
    sa.Column('goods', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifest.id'], name=op.f('fk_manifest_line_manifest_id_manifest')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manifest_line')),
    sa.UniqueConstraint('manifest_id', 'bill_of_lading', name=op.f('uq_manifest_line_manifest_id_bill_of_lading'))
    )
    op.create_index('ix_manifest_line_bl', 'manifest_line', ['bill_of_lading'], unique=False)
    op.create_table('manifest_declaration_ref',
    sa.Column('declaration_id', _BIGID, nullable=False),
    sa.Column('number', sa.String(length=18), nullable=False),
    sa.Column('bill_of_lading', sa.String(length=35), nullable=False),
    sa.Column('containers', sa.JSON(), nullable=False),
    sa.Column('gross_mass_kg', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_manifest_declaration_ref_declaration_id_declaration')),
    sa.PrimaryKeyConstraint('declaration_id', name=op.f('pk_manifest_declaration_ref'))
    )
    op.create_index('ix_manifest_declaration_ref_bl', 'manifest_declaration_ref', ['bill_of_lading'], unique=False)
    _backfill()


def _backfill() -> None:
    """The transport references of declarations lodged before manifests existed (what note_declaration writes)."""
    decl = sa.table('declaration', sa.column('id', sa.Integer()), sa.column('number', sa.String()), sa.column('payload', sa.JSON()))
    ref = sa.table(
        'manifest_declaration_ref',
        sa.column('declaration_id', sa.Integer()), sa.column('number', sa.String()), sa.column('bill_of_lading', sa.String()),
        sa.column('containers', sa.JSON()), sa.column('gross_mass_kg', sa.String()), sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    now = datetime.now(UTC)
    last = 0
    while True:
        rows = bind.execute(sa.select(decl.c.id, decl.c.number, decl.c.payload).where(decl.c.id > last).order_by(decl.c.id).limit(1000)).all()
        if not rows:
            return
        out: list[dict[str, Any]] = []
        for id_, number, payload in rows:
            payload = payload or {}
            bl = (payload.get('transport') or {}).get('bill_of_lading')
            if not bl:
                bl = next((d.get('reference') for d in payload.get('documents') or [] if d.get('type') == 'bill_of_lading'), None)
            if bl:
                containers = [str(c.get('number')) for c in payload.get('containers') or [] if c.get('number')]
                mass = sum((Decimal(str(i.get('gross_mass_kg') or '0')) for i in payload.get('items') or []), Decimal(0))
                out.append({'declaration_id': id_, 'number': number, 'bill_of_lading': bl, 'containers': containers,
                            'gross_mass_kg': str(mass), 'updated_at': now})
        if out:
            bind.execute(ref.insert(), out)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index('ix_manifest_declaration_ref_bl', table_name='manifest_declaration_ref')
    op.drop_table('manifest_declaration_ref')
    op.drop_index('ix_manifest_line_bl', table_name='manifest_line')
    op.drop_table('manifest_line')
    op.drop_table('manifest_version')
    op.drop_index('ix_manifest_carrier', table_name='manifest')
    op.drop_table('manifest')
