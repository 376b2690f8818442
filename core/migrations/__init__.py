"""Alembic migrations of the Skrynka schema; run them with core.db.upgrade_database(url)."""
