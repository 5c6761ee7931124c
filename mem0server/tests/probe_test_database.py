"""Run alone by test_test_database.py (its name keeps it out of the suite's collection): its tests ask
pytest-django for no database, as the schema fuzzing's tests do."""

from django.db import connection

from accounts.models import User
from apikeys.services import apikey_authenticate, apikey_create, key_cache
from conftest import SETTINGS_DATABASE


def test_a_fixture_committing_rows_of_its_own_is_on_a_test_database(test_database):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        [(name,)] = cursor.fetchall()
    assert name != SETTINGS_DATABASE and name.startswith("test_"), name


def test_a_key_checked_on_that_database_leaves_it_droppable(test_database, settings):
    """Checking a key starts this process's revocation listener, a session of its own on that database, as the
    schema fuzzing's key passes do (its live server checks their keys)."""
    settings.API_KEY_CACHE_SECONDS = 60
    _, key = apikey_create(user=User.objects.create_user(email="probe@example.com"), label="probe")
    assert apikey_authenticate(key=key) is not None
    assert key_cache.listener.listening.wait(60)
