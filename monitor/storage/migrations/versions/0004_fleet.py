"""fleet: daemons, connector leases and scheduled job runs

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-30 14:20:00

Several `run` daemons on one database: each connector is polled by the daemon holding its lease,
and each scheduled job runs once per schedule, by the daemon that claimed its job_runs row.
(Another branch adds 0003 on top of 0002; the two are put in one line when they are merged.)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.storage.schema

revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('daemons',
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('hostname', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_seconds', sa.Float(), nullable=False),
    sa.Column('stopped_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('holder')
    )
    op.create_table('connector_leases',
    sa.Column('connector', sa.String(length=100), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=True),
    sa.Column('acquired_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_poll_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_poll_by', sa.String(length=200), nullable=True),
    sa.Column('last_outcome', sa.String(length=40), nullable=True),
    sa.Column('last_summary', sa.Text(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('connector')
    )
    op.create_table('job_runs',
    sa.Column('job', sa.String(length=100), nullable=False),
    sa.Column('scheduled_for', monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('started_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('job', 'scheduled_for')
    )


def downgrade() -> None:
    op.drop_table('job_runs')
    op.drop_table('connector_leases')
    op.drop_table('daemons')
