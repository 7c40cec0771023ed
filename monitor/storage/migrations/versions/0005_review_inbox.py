"""review inbox: users, who changed a status, who edited a draft, inbox indexes

The two indexes cover the inbox's queries (open complaints by status and time, with the facets), so
its page and counts read no table row.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.storage.schema

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('created_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='uq_users_name')
    )
    op.create_table('web_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_name', sa.String(length=100), nullable=True))
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('labeled_by', sa.String(length=100), nullable=True))
    with op.batch_alter_table('reply_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('edited_at', monitor.storage.schema.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index('ix_mentions_inbox', ['status', 'created_at', 'pk', 'platform'], unique=False)
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.create_index(
            'ix_classifications_inbox', ['mention_pk', 'is_complaint', 'urgency', 'category', 'lang'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_index('ix_classifications_inbox')
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_mentions_inbox')
    with op.batch_alter_table('reply_drafts', schema=None) as batch_op:
        batch_op.drop_column('edited_at')
        batch_op.drop_column('edited_by')
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_column('labeled_by')
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.drop_column('user_name')
    op.drop_table('web_secrets')
    op.drop_table('users')
