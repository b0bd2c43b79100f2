"""users: several roles, one jurisdiction (area_code) and a department

Every user works inside one area: an admin unit (city, county, town, community) or a grid, and may hold
several roles there (issue #16). `users.role` becomes `users.roles text[]` (existing users keep their one
role), `area_code` names the area (existing users and the bootstrap admin: the city, as before: they saw
everything), `department` is one of the 11 departments (required for a department_handler). A text[] cannot
carry a foreign key, so a trigger checks each role against `roles` and the area against `admin_units` and
`grids`; the city code is the deployment's root and is accepted before its polygon is loaded.

Revision ID: 0006
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (a migration must not change when geo.vocab does).
NEW_ROLES = {
    "grid_worker": "网格员 Grid worker",
    "centre_operator": "综治中心值班员 Centre operator",
    "department_handler": "部门承办人 Department handler",
}
DEPARTMENTS = [
    "civil_affairs",
    "housing",
    "emergency",
    "environment",
    "public_security",
    "market_regulation",
    "health",
    "urban_management",
    "natural_resources",
    "justice",
    "human_resources",
]
CITY_CODE = "610300"

CHECK_REFS = f"""
CREATE FUNCTION users_check_refs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE unknown text;
BEGIN
    SELECT r INTO unknown FROM unnest(NEW.roles) r WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = r) LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown role %', unknown USING ERRCODE = 'foreign_key_violation', COLUMN = 'roles';
    END IF;
    IF NEW.area_code <> '{CITY_CODE}'
       AND NOT EXISTS (SELECT 1 FROM admin_units WHERE code = NEW.area_code)
       AND NOT EXISTS (SELECT 1 FROM grids WHERE code = NEW.area_code) THEN
        RAISE EXCEPTION 'no admin unit or grid %', NEW.area_code
            USING ERRCODE = 'foreign_key_violation', COLUMN = 'area_code';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_check_refs BEFORE INSERT OR UPDATE OF roles, area_code ON users
    FOR EACH ROW EXECUTE FUNCTION users_check_refs();
"""


def upgrade() -> None:
    op.add_column("users", sa.Column("roles", sa.ARRAY(sa.Text()), nullable=True))
    op.execute("UPDATE users SET roles = ARRAY[role]")
    op.alter_column("users", "roles", nullable=False)
    op.drop_column("users", "role")
    op.alter_column("roles", "name", type_=sa.String(32), existing_type=sa.String(16))
    roles = sa.table("roles", sa.column("name", sa.String), sa.column("description", sa.Text))
    op.bulk_insert(roles, [{"name": k, "description": v} for k, v in NEW_ROLES.items()])
    op.add_column("users", sa.Column("area_code", sa.String(15), nullable=False, server_default=CITY_CODE))
    op.alter_column("users", "area_code", server_default=None)
    op.add_column("users", sa.Column("department", sa.String(32), nullable=True))
    op.create_check_constraint("ck_users_roles_given", "users", "cardinality(roles) >= 1")
    op.create_check_constraint(
        "ck_users_department", "users", "department IN (" + ", ".join(f"'{d}'" for d in DEPARTMENTS) + ")"
    )
    op.create_check_constraint(
        "ck_users_handler_department",
        "users",
        "department IS NOT NULL OR NOT ('department_handler' = ANY (roles))",
    )
    op.create_index("ix_users_area_code", "users", ["area_code"])
    op.execute(CHECK_REFS)


def downgrade() -> None:
    op.execute("DROP TRIGGER users_check_refs ON users")
    op.execute("DROP FUNCTION users_check_refs()")
    op.drop_index("ix_users_area_code", table_name="users")
    for name in ("ck_users_handler_department", "ck_users_department", "ck_users_roles_given"):
        op.drop_constraint(name, "users", type_="check")
    op.add_column("users", sa.Column("role", sa.String(16), nullable=True))
    # One role survives a downgrade: the most powerful the user held.
    op.execute(
        """UPDATE users SET role = CASE
             WHEN 'admin' = ANY(roles) THEN 'admin' WHEN 'gis_editor' = ANY(roles) THEN 'gis_editor'
             WHEN 'police' = ANY(roles) THEN 'police' ELSE 'viewer' END"""
    )
    op.alter_column("users", "role", nullable=False)
    op.drop_column("users", "department")
    op.drop_column("users", "area_code")
    op.drop_column("users", "roles")
    op.execute("DELETE FROM roles WHERE name IN (" + ", ".join(f"'{k}'" for k in NEW_ROLES) + ")")
    op.alter_column("roles", "name", type_=sa.String(16), existing_type=sa.String(32))
    op.create_foreign_key("users_role_fkey", "users", "roles", ["role"], ["name"])
