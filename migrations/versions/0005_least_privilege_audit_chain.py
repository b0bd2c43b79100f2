"""least privilege by table; audit_log append-only with a hash chain; user writes through one audited function

The app role kept SELECT/INSERT/UPDATE/DELETE on every table (`GRANT … ON ALL TABLES`), so a compromised
app could delete its own audit trail and mint admin tokens (issue #15, item 2). Now:
- audit_log: SELECT and INSERT only. Each committed row is linked into a SHA-256 chain at commit time
  (a deferred trigger, so a long import does not hold the chain's lock for its whole run): row_hash =
  sha256(prev_hash || canonical text of the row). `citygrid audit verify` recomputes it; an edited, deleted
  or unchained row is reported, whoever did it (the owner and superuser included).
- users, roles, alembic_version, audit_chain_tip: SELECT only. Users are written by one SECURITY DEFINER
  function, citygrid_user_write(actor, username, fields jsonb), which also writes the audit row.
- PUBLIC loses CONNECT and TEMPORARY on the database (the app role is granted both by name).
spatial_ref_sys belongs to the superuser: `citygrid db up` (geo.pgcluster.bootstrap_database) revokes there.

Revision ID: 0005
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The roles the owner granted table rights to: the app role(s), whatever their names in this deployment.
_APP_ROLES = """
    SELECT DISTINCT grantee FROM information_schema.role_table_grants
    WHERE table_schema = 'public' AND table_name = 'grids' AND grantee NOT IN (current_user, 'PUBLIC')
"""

_READ_ONLY = ("users", "roles", "alembic_version", "audit_chain_tip")

# Canonical text of a row: a JSON array (jsonb renders objects in one fixed key order), times in UTC.
_ROW_HASH = """
CREATE FUNCTION audit_row_hash(a audit_log, prev bytea) RETURNS bytea
LANGUAGE sql STABLE AS $$
  SELECT sha256(prev || convert_to(jsonb_build_array(
    a.chain_seq, a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    a.actor, a.action, a.entity_type, a.entity_id, a.before, a.after, a.reason)::text, 'UTF8'))
$$
"""

# At commit: take the tip (its row lock serialises links, held only until this commit ends), link, move it.
_LINK = """
CREATE FUNCTION audit_chain_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  tip audit_chain_tip;
  r audit_log := NEW;
  h bytea;
BEGIN
  UPDATE audit_chain_tip SET seq = seq + 1 RETURNING * INTO tip;
  r.chain_seq := tip.seq;
  h := audit_row_hash(r, tip.hash);
  UPDATE audit_log SET chain_seq = tip.seq, prev_hash = tip.hash, row_hash = h WHERE id = NEW.id;
  UPDATE audit_chain_tip SET hash = h;
  RETURN NULL;
END $$
"""

# One way to write users: upsert by username from a JSON object of columns (any column but id, username and
# created_at: migration 0006's new columns work without re-creating this), audited in the same statement.
_USER_WRITE = """
CREATE FUNCTION citygrid_user_write(p_actor text, p_username text, p_fields jsonb, p_action text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  cols text;
  bad text;
  old_row jsonb;
  new_row jsonb;
  uid integer;
BEGIN
  IF p_username IS NULL OR p_actor IS NULL OR jsonb_typeof(p_fields) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION 'citygrid_user_write needs an actor, a username and a JSON object' USING ERRCODE = '22023';
  END IF;
  SELECT string_agg(k, ', ') INTO bad FROM jsonb_object_keys(p_fields) k
  WHERE k IN ('id', 'username', 'created_at') OR k NOT IN (
    SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users');
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'not a writable users column: %', bad USING ERRCODE = '42703';
  END IF;
  SELECT string_agg(quote_ident(k), ', ') INTO cols FROM jsonb_object_keys(p_fields) k;
  SELECT to_jsonb(u) INTO old_row FROM users u WHERE username = p_username FOR UPDATE;
  IF old_row IS NULL THEN
    EXECUTE format('INSERT INTO users (username%s) SELECT $1%s FROM jsonb_populate_record(NULL::users, $2) r '
                   'RETURNING id', coalesce(', ' || cols, ''),
                   coalesce(', ' || (SELECT string_agg('r.' || quote_ident(k), ', ')
                                     FROM jsonb_object_keys(p_fields) k), ''))
      INTO uid USING p_username, p_fields;
  ELSIF cols IS NOT NULL THEN
    EXECUTE format('UPDATE users SET (%s) = (SELECT %s FROM jsonb_populate_record(NULL::users, $2) r) '
                   'WHERE username = $1 RETURNING id', cols,
                   (SELECT string_agg('r.' || quote_ident(k), ', ') FROM jsonb_object_keys(p_fields) k))
      INTO uid USING p_username, p_fields;
  ELSE
    uid := (old_row->>'id')::integer;
  END IF;
  SELECT to_jsonb(u) INTO new_row FROM users u WHERE id = uid;
  INSERT INTO audit_log (actor, action, entity_type, entity_id, before, after)
  VALUES (p_actor, coalesce(p_action, CASE WHEN old_row IS NULL THEN 'create' ELSE 'update' END), 'user', p_username,
          old_row - 'token_sha256',
          (new_row - 'token_sha256') || jsonb_build_object('token_changed',
            old_row IS NULL OR old_row->'token_sha256' IS DISTINCT FROM new_row->'token_sha256'));
  RETURN uid;
END $$
"""


def _for_app_roles(statement: str) -> None:
    """Run statement for every app role (%1$I: the database, %2$I: the role)."""
    op.execute(
        f"DO $$ DECLARE r text; BEGIN FOR r IN {_APP_ROLES} LOOP "
        f"EXECUTE format($f${statement}$f$, current_database(), r); END LOOP; END $$"
    )


def upgrade() -> None:
    op.execute(
        "ALTER TABLE audit_log ADD COLUMN chain_seq bigint, ADD COLUMN prev_hash bytea, ADD COLUMN row_hash bytea"
    )
    op.execute("CREATE UNIQUE INDEX ix_audit_log_chain_seq ON audit_log (chain_seq)")
    op.execute(
        "CREATE TABLE audit_chain_tip (id boolean PRIMARY KEY DEFAULT true CHECK (id), "
        "seq bigint NOT NULL, hash bytea NOT NULL)"
    )
    op.execute("INSERT INTO audit_chain_tip VALUES (true, 0, sha256(''::bytea))")
    op.execute(_ROW_HASH)
    op.execute(_LINK)
    # Rows written before this revision join the chain in id order.
    op.execute(
        "DO $$ DECLARE a audit_log; tip audit_chain_tip; h bytea; BEGIN "
        "FOR a IN SELECT * FROM audit_log ORDER BY id LOOP "
        "SELECT * INTO tip FROM audit_chain_tip; a.chain_seq := tip.seq + 1; h := audit_row_hash(a, tip.hash); "
        "UPDATE audit_log SET chain_seq = a.chain_seq, prev_hash = tip.hash, row_hash = h WHERE id = a.id; "
        "UPDATE audit_chain_tip SET seq = a.chain_seq, hash = h; END LOOP; END $$"
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_link()"
    )
    op.execute(_USER_WRITE)
    op.execute(
        "REVOKE ALL ON FUNCTION citygrid_user_write(text, text, jsonb, text), audit_chain_link() FROM PUBLIC"
    )
    _for_app_roles("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %2$I")
    for table in _READ_ONLY:
        _for_app_roles(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM %2$I")
    _for_app_roles("GRANT EXECUTE ON FUNCTION citygrid_user_write(text, text, jsonb, text) TO %2$I")
    _for_app_roles("GRANT CONNECT, TEMPORARY ON DATABASE %1$I TO %2$I")
    op.execute(
        "DO $$ BEGIN EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$"
    )


def downgrade() -> None:
    op.execute(
        "DO $$ BEGIN EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO PUBLIC', current_database()); END $$"
    )
    for table in ("users", "roles", "alembic_version", "audit_log"):
        _for_app_roles(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO %2$I")
    op.execute("DROP FUNCTION citygrid_user_write(text, text, jsonb, text)")
    op.execute("DROP TRIGGER audit_log_chain ON audit_log")
    op.execute("DROP FUNCTION audit_chain_link()")
    op.execute("DROP FUNCTION audit_row_hash(audit_log, bytea)")
    op.execute("DROP TABLE audit_chain_tip")
    op.execute("DROP INDEX ix_audit_log_chain_seq")
    op.execute("ALTER TABLE audit_log DROP COLUMN chain_seq, DROP COLUMN prev_hash, DROP COLUMN row_hash")
