"""Run alone by test_test_database.py (its name keeps it out of the suite's collection): its only test asks
pytest-django for no database, as the schema fuzzing's tests do."""

from django.db import connection

from conftest import SETTINGS_DATABASE


def test_a_fixture_committing_rows_of_its_own_is_on_a_test_database(test_database):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        [(name,)] = cursor.fetchall()
    assert name != SETTINGS_DATABASE and name.startswith("test_"), name
