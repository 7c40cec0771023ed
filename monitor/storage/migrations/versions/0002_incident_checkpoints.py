"""incidents as anomalies: engine checkpoints, raise/resolve times, draft inputs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 12:00:00

Hidden candidate groups are no longer stored (the engine's checkpoints replace them),
so their rows and member rows go.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.storage.schema

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('position_platform', sa.String(length=50), nullable=False),
    sa.Column('position_external_id', sa.String(length=200), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incident_checkpoints', schema=None) as batch_op:
        batch_op.create_index('ix_incident_checkpoints_position_at', ['position_at'], unique=False)
    state = op.create_table('incident_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(state, [{'id': 1, 'generation': 0}])
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raised_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolves_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('opened_epoch', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('incident_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('epoch', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('reply_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inputs', sa.String(length=200), nullable=False, server_default=''))
    op.execute(
        "DELETE FROM incident_members WHERE incident_id IN (SELECT id FROM incidents WHERE status = 'candidate')"
    )
    op.execute("DELETE FROM incidents WHERE status = 'candidate'")


def downgrade() -> None:
    with op.batch_alter_table('reply_drafts', schema=None) as batch_op:
        batch_op.drop_column('inputs')
    with op.batch_alter_table('incident_members', schema=None) as batch_op:
        batch_op.drop_column('epoch')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('opened_epoch')
        batch_op.drop_column('resolves_at')
        batch_op.drop_column('raised_at')
    op.drop_table('incident_state')
    with op.batch_alter_table('incident_checkpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_checkpoints_position_at')
    op.drop_table('incident_checkpoints')
