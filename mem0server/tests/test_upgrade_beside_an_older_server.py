"""An upgrade migrates while the earlier version still serves (a rolling upgrade, a second machine): its writes, which
know nothing of the columns added since, must still be stored.

The test database is taken back to what 884c3de (2026-12-01) left, then migrated forward as the upgrade would, and
rows are written as that version's code writes them: through its models (the migrations' historical ones), whose
INSERTs name only the columns it knew. A NOT NULL column added since without a default in the database refuses
them: the older server's every add answered 500 and its request log was lost until it was restarted.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddField
from django.db.models import NOT_PROVIDED, GeneratedField
from django.utils import timezone

from accounts.models import User
from exports.models import MemoryExport
from mem0server.commands import database_not_set_up
from memories.models import Memory
from requestlog.models import RequestLog

# The migrations 884c3de shipped last, of the apps whose tables later versions added columns to.
EARLIER = [
    ("accounts", "0002_refreshtoken"),
    ("exports", "0001_memory_export"),
    ("memories", "0007_memory_occurred_at"),
    ("requestlog", "0002_requestlog_tool"),
]
PROJECT_APPS = {"accounts", "apikeys", "events", "exports", "mcp_server", "memories", "oauth", "platform_api"}
PROJECT_APPS |= {"profiles", "requestlog", "webhooks"}


@pytest.fixture
def earlier_models(transactional_db):
    """The database as 884c3de left it, and that version's models; forward to the end again after."""
    for app, name in EARLIER:
        call_command("migrate", app, name, verbosity=0)
    connections.close_all()
    yield MigrationExecutor(connection).loader.project_state(EARLIER).apps
    connections.close_all()
    if database_not_set_up():  # the test stopped before its own migrate
        call_command("migrate", verbosity=0)


def test_an_earlier_versions_writes_are_stored_after_the_upgrade_migrated_beside_it(earlier_models):
    call_command("migrate", verbosity=0)  # the upgrade, while the earlier server still runs

    account = earlier_models.get_model("accounts", "User").objects.create(email="still@example.com", role="member")
    vector = np.zeros(384, dtype=np.float32)
    vector[0] = 1.0
    memory = earlier_models.get_model("memories", "Memory").objects.create(
        id=uuid.uuid4(), account_id=account.id, text="Added by the server not yet restarted", hash="0" * 32,
        user_id="alice", embedding=vector,
    )  # fmt: skip
    earlier_models.get_model("requestlog", "RequestLog").objects.create(
        method="POST", path="/memories", status_code=200, latency_ms=1.0, auth_type="api_key", created_at=timezone.now()
    )
    export = earlier_models.get_model("exports", "MemoryExport").objects.create(account_id=account.id)

    assert User.objects.get(id=account.id).token_generation == 0
    assert Memory.objects.get(id=memory.id).categories == []
    assert RequestLog.objects.values_list("route", "client", "error").get() == ("", "", "")
    assert MemoryExport.objects.get(id=export.id).attempts == 0


def test_every_not_null_column_a_migration_adds_to_a_table_has_a_default_in_the_database():
    """So that the next upgrade's new columns do not break the version still running beside its migrate either."""
    from django.apps import apps

    missing = []
    for (app, name), migration in MigrationLoader(None, ignore_no_migrations=True).disk_migrations.items():
        if app not in PROJECT_APPS:
            continue
        for operation in migration.operations:
            if not isinstance(operation, AddField) or operation.field.null:
                continue
            try:
                field = apps.get_model(app, operation.model_name)._meta.get_field(operation.name)
            except (LookupError, FieldDoesNotExist):
                continue  # removed since
            if field.null or isinstance(field, GeneratedField) or field.db_default is not NOT_PROVIDED:
                continue
            missing.append(f"{app}.{name}: {operation.model_name}.{operation.name}")
    assert missing == []
