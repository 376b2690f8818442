"""The instance's settings row: read in one place, defaults when it is missing, made on edit."""

from sqlalchemy import delete, func, select

from core.instance import Instance
from core.instance_config import (
    instance_config_for_edit,
    read_instance_config,
    read_organization_name,
)
from core.models import InstanceConfig


def test_the_row_init_wrote_is_what_everyone_reads(instance: Instance) -> None:
    with instance.sessions() as db:
        config = read_instance_config(db)
        assert config is not None
        assert config.organization_name == "Skrynka Test"
        assert read_organization_name(db) == "Skrynka Test"
        assert instance_config_for_edit(db) is config


def test_a_missing_row_reads_as_the_defaults_and_an_edit_creates_it(instance: Instance) -> None:
    with instance.sessions() as db:
        db.execute(delete(InstanceConfig))
        db.commit()
        assert read_instance_config(db) is None
        assert read_organization_name(db) == "Skrynka"
        instance_config_for_edit(db).organization_name = "Viasna"
        db.commit()
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(InstanceConfig)) == 1
        assert read_organization_name(db) == "Viasna"
