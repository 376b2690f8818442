"""The instance's settings row (organisation name, logo, upload rules), read in one place.

`skrynka init` writes one row. Readers take the row with the lowest id and treat its absence
(an instance restored without it, a database made by hand) as "every setting at its default";
only an administrator's edit creates the row when it is missing.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import InstanceConfig

# The id `skrynka init` gives the row.
CONFIG_ID = 1
DEFAULT_ORGANIZATION_NAME = "Skrynka"


def read_instance_config(db: Session) -> InstanceConfig | None:
    """The instance's settings, or None when no row exists (callers use the defaults)."""
    return db.scalar(select(InstanceConfig).order_by(InstanceConfig.id).limit(1))


def instance_config_for_edit(db: Session) -> InstanceConfig:
    """The settings row to change, created with every default if it is missing. Flushes."""
    config = read_instance_config(db)
    if config is None:
        config = InstanceConfig(id=CONFIG_ID)
        db.add(config)
        db.flush()
    return config


def read_organization_name(db: Session) -> str:
    """The organisation's name as staff and sources see it (the default when no row exists)."""
    config = read_instance_config(db)
    return config.organization_name if config is not None else DEFAULT_ORGANIZATION_NAME
