"""Alembic migrations of the Skrynka schema; run them with core.db.upgrade_database(url).

HEAD_REVISION names the newest migration in versions/. Servers compare a database against it
without importing Alembic (about 10 MiB in every worker, for one string); a test checks that it
matches what Alembic finds in the scripts, so a new migration must update it.
"""

HEAD_REVISION = "0004"
