"""What the database says about itself: the schema's revision, and whether this connection's
role could rewrite the remediation log (what ``python -m bot doctor`` and the start-up check ask).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.store.engine import StoreBase, database_errors


class SchemaStore(StoreBase):
    def can_rewrite_log(self) -> bool:
        """PostgreSQL: True when this connection's role owns the remediation log or is a
        superuser, so it could switch the append-only trigger off (docs/deploy.md, step 6), or was
        granted UPDATE, DELETE or TRUNCATE on it."""
        if self.dialect != "postgresql":
            return False
        query = text(
            "SELECT (t.tableowner = current_user) OR r.rolsuper "
            "OR has_table_privilege(t.schemaname || '.remediation_log', "
            "'UPDATE, DELETE, TRUNCATE') FROM pg_tables t "
            "JOIN pg_roles r ON r.rolname = current_user "
            "WHERE t.tablename = 'remediation_log' AND t.schemaname = current_schema()"
        )
        with database_errors(), self.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at; None when it has no rootkey tables."""
        with database_errors(), self.engine.connect() as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError:
                return None
