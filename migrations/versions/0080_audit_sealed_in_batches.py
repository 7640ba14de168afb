"""The audit log is appended without a lock and chained afterwards by a sealer.

Until now every audited transaction took one advisory lock to read the chain's head and
hash its row, so every write and audited read of the corps queued on that lock until its
transaction ended. Now:

- `audit_log` rows are appended freely: an identity id, the inserting transaction's id
  (`txid`, for the sealer) and `content_hash`, a SHA-256 of the row's own content that
  needs no other row. The log keeps its append-only triggers; it is never updated.
- `audit_chain` holds the chain: one row per sealed entry, in sealing order (`seq`), with
  `prev_hash` and `hash`. A sealer (corps.audit_seal) appends to it in short
  transactions, one sealer at a time; the head of this table anchors every sealed entry.

Existing rows keep their hashes: they move into `audit_chain` in id order, so anchors
already written (audit row id and hash) still check out.

Row level security: `audit_chain` says only which entry was sealed when; it is read, like
the log, by admins and the system, and appended by the system viewer (the sealer) only.

Revision ID: 0080
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0080"
down_revision = "0010"
branch_labels = None
depends_on = None

ROLE = "(SELECT ej_viewer_role())"
ADMIN = f"{ROLE} IN ('admin', 'system')"

OLD_APPEND = "ej_audit_append(timestamptz, uuid, uuid, text, text, text, jsonb, text, text)"
NEW_APPEND = "ej_audit_append(timestamptz, uuid, uuid, text, text, text, jsonb, text)"


class XID8(sa.types.UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (never wraps around)."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


FUNCTIONS = """
-- Any viewer appends, without reading the log back and without waiting for anyone: no
-- lock, no head to read. The row is chained later by the sealer.
CREATE OR REPLACE FUNCTION ej_audit_append(
  p_at timestamptz, p_actor_id uuid, p_organization_id uuid, p_action text,
  p_object_type text, p_object_id text, p_details jsonb, p_content_hash text
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE new_id bigint;
BEGIN
  -- current_user is the owner here; the owner's own sessions (maintenance) need no viewer
  IF ej_viewer_role() IS NULL AND NOT pg_has_role(session_user, current_user, 'USAGE') THEN
    RAISE EXCEPTION 'no viewer: the audit log takes entries only from a named viewer'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO audit_log (at, actor_id, organization_id, action, object_type, object_id,
                         details, content_hash)
  VALUES (p_at, p_actor_id, p_organization_id, p_action, p_object_type, p_object_id,
          p_details, p_content_hash)
  RETURNING id INTO new_id;
  RETURN new_id;
END $$;

-- The sealed head: every requester's dossier anchors it, whoever they are.
CREATE OR REPLACE FUNCTION ej_audit_head() RETURNS TABLE (id bigint, hash text, seq bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT c.entry_id, c.hash, c.seq FROM audit_chain c ORDER BY c.seq DESC LIMIT 1 $$;

-- How many committed entries wait for the sealer (a number only).
CREATE OR REPLACE FUNCTION ej_audit_pending() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(*) FROM audit_log a
  WHERE a.txid >= coalesce((SELECT c.xmin_floor FROM audit_chain c ORDER BY c.seq DESC
                            LIMIT 1), '0'::xid8)
    AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = a.id) $$;
"""


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column(
            "sealed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        # Every entry of a transaction older than this was visible to the sealer that wrote
        # the row, and sealed: the next sealer looks for pending entries from here on.
        sa.Column("xmin_floor", XID8(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_chain"),
        sa.UniqueConstraint("entry_id", name="uq_audit_chain_entry_id"),
        sa.UniqueConstraint("hash", name="uq_audit_chain_hash"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["audit_log.id"], name="fk_audit_chain_entry_id_audit_log"
        ),
    )
    op.execute(
        "INSERT INTO audit_chain (seq, entry_id, prev_hash, hash, xmin_floor) "
        "SELECT row_number() OVER (ORDER BY id), id, prev_hash, hash, "
        "pg_snapshot_xmin(pg_current_snapshot()) FROM audit_log ORDER BY id"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_no_update_delete BEFORE UPDATE OR DELETE ON audit_chain "
        "FOR EACH ROW EXECUTE FUNCTION ej_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain "
        "FOR EACH STATEMENT EXECUTE FUNCTION ej_refuse_change()"
    )
    op.execute(f"DROP FUNCTION IF EXISTS {OLD_APPEND}")
    op.execute("DROP FUNCTION IF EXISTS ej_audit_head()")
    op.drop_constraint("uq_audit_log_hash", "audit_log", type_="unique")
    op.drop_column("audit_log", "prev_hash")
    op.drop_column("audit_log", "hash")
    op.add_column("audit_log", sa.Column("content_hash", sa.String(64)))
    op.add_column(
        "audit_log",
        sa.Column(
            "txid",
            XID8(),
            server_default=sa.text("pg_current_xact_id()"),
            nullable=False,
        ),
    )
    op.create_index("ix_audit_log_txid", "audit_log", ["txid"])
    for statement in FUNCTIONS.split("\nCREATE ")[1:]:
        op.execute("CREATE " + statement)

    op.execute("ALTER TABLE audit_chain ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE audit_chain FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY audit_chain_owner ON audit_chain TO CURRENT_USER "
        "USING (true) WITH CHECK (true)"
    )
    op.execute(f"CREATE POLICY audit_chain_read ON audit_chain FOR SELECT USING ({ADMIN})")
    op.execute(
        f"CREATE POLICY audit_chain_seal ON audit_chain FOR INSERT WITH CHECK ({ROLE} = 'system')"
    )


def downgrade() -> None:
    # Going back needs every entry sealed: the old log kept the hash in the row itself.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM audit_log a WHERE NOT EXISTS "
        "(SELECT 1 FROM audit_chain c WHERE c.entry_id = a.id)) THEN "
        "RAISE EXCEPTION 'unsealed audit entries: run the sealer before downgrading'; "
        "END IF; END $$"
    )
    for signature in (NEW_APPEND, "ej_audit_head()", "ej_audit_pending()"):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_index("ix_audit_log_txid", "audit_log")
    op.drop_column("audit_log", "txid")
    op.drop_column("audit_log", "content_hash")
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64)))
    op.add_column("audit_log", sa.Column("hash", sa.String(64)))
    # Restoring the columns is an update of the append-only log, by its owner, once.
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
    op.execute(
        "UPDATE audit_log a SET prev_hash = c.prev_hash, hash = c.hash "
        "FROM audit_chain c WHERE c.entry_id = a.id"
    )
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete")
    op.alter_column("audit_log", "prev_hash", nullable=False)
    op.alter_column("audit_log", "hash", nullable=False)
    op.create_unique_constraint("uq_audit_log_hash", "audit_log", ["hash"])
    op.drop_table("audit_chain")
    # 0010's functions come back as they were.
    op.execute(
        "CREATE OR REPLACE FUNCTION ej_audit_head() RETURNS TABLE (id bigint, hash text) "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS "
        "$$ SELECT a.id, a.hash FROM audit_log a ORDER BY a.id DESC LIMIT 1 $$"
    )
    op.execute(
        """
CREATE OR REPLACE FUNCTION ej_audit_append(
  p_at timestamptz, p_actor_id uuid, p_organization_id uuid, p_action text,
  p_object_type text, p_object_id text, p_details jsonb, p_prev_hash text, p_hash text
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE new_id bigint;
BEGIN
  IF ej_viewer_role() IS NULL AND NOT pg_has_role(session_user, current_user, 'USAGE') THEN
    RAISE EXCEPTION 'no viewer: the audit log takes entries only from a named viewer'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO audit_log (at, actor_id, organization_id, action, object_type, object_id,
                         details, prev_hash, hash)
  VALUES (p_at, p_actor_id, p_organization_id, p_action, p_object_type, p_object_id,
          p_details, p_prev_hash, p_hash)
  RETURNING id INTO new_id;
  RETURN new_id;
END $$"""
    )
