"""Residents sign in by phone and SMS code: a verified phone per account, the codes (hashed),
and the resident role.

Revision ID: 3b9d5f7a1c42
Revises: 6f3c8b2a1e57
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b9d5f7a1c42'
down_revision = '6f3c8b2a1e57'
branch_labels = None
depends_on = None

ROLES = ("admin", "bureau", "community_worker", "org_admin", "reviewer", "volunteer",
         "evaluator")


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('phone_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_phone'), ['phone'])
    op.create_table('sms_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_key', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_codes'))
    )
    with op.batch_alter_table('sms_codes', schema=None) as batch_op:
        batch_op.create_index('ix_sms_codes_phone_key_created_at', ['phone_key', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_sms_codes_address_created_at', ['address', 'created_at'],
                              unique=False)
    _roles(ROLES + ("resident",), ROLES)


def _roles(new, old):
    """role_grants.role is a VARCHAR with a CHECK listing the roles: add (or drop) resident."""
    enum = lambda values: sa.Enum(*values, name="role", native_enum=False,  # noqa: E731
                                  create_constraint=True, length=32)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_role_grants_role"), "role_grants", type_="check")
        op.create_check_constraint(op.f("ck_role_grants_role"), "role_grants",
                                   sa.column("role").in_(new))
    else:
        with op.batch_alter_table("role_grants", schema=None) as batch_op:
            batch_op.alter_column("role", existing_type=enum(old), type_=enum(new),
                                  existing_nullable=False)


def downgrade():
    op.execute("DELETE FROM role_grants WHERE role = 'resident'")
    _roles(ROLES, ROLES + ("resident",))
    with op.batch_alter_table('sms_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_codes_address_created_at')
        batch_op.drop_index('ix_sms_codes_phone_key_created_at')
    op.drop_table('sms_codes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_phone'), type_='unique')
        batch_op.drop_column('phone_verified_at')
        batch_op.drop_column('phone')
