"""The project's consistency checks, in the suite's own processes: Django's system checks with warnings
failing, every model change in a migration, and the OpenAPI schema valid and built without a warning.
(`make test` ran them as three commands before pytest: a Django start-up each, about 6 s of CPU apiece.)"""

from __future__ import annotations

import pytest
from django.core.management import call_command


def test_django_system_checks_pass_with_no_warning():
    call_command("check", fail_level="WARNING")


@pytest.mark.django_db
def test_every_model_change_has_its_migration(capsys):
    try:
        call_command("makemigrations", check=True, dry_run=True)
    except SystemExit:  # what `makemigrations --check` does when a migration is missing
        pytest.fail(f"a model change has no migration (manage.py makemigrations):\n{capsys.readouterr().out}")


def test_the_openapi_schema_is_valid_and_builds_with_no_warning(tmp_path):
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(tmp_path / "openapi.yaml"))
    assert "/memories" in (tmp_path / "openapi.yaml").read_text()
