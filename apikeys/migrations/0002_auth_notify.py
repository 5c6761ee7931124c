"""NOTIFY mem0_auth when a key stops being valid or an account's access changes (apikeys/listener.py)."""

from django.db import migrations

CREATE = """
CREATE FUNCTION mem0_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mem0_auth', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER apikeys_apikey_revoked AFTER UPDATE ON apikeys_apikey FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.digest IS DISTINCT FROM NEW.digest
          OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION mem0_auth_changed();
CREATE TRIGGER apikeys_apikey_deleted AFTER DELETE ON apikeys_apikey FOR EACH STATEMENT
    EXECUTE FUNCTION mem0_auth_changed();
CREATE TRIGGER accounts_user_access AFTER UPDATE ON accounts_user FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.is_staff IS DISTINCT FROM NEW.is_staff OR OLD.is_superuser IS DISTINCT FROM NEW.is_superuser)
    EXECUTE FUNCTION mem0_auth_changed();
CREATE TRIGGER accounts_user_deleted AFTER DELETE ON accounts_user FOR EACH STATEMENT
    EXECUTE FUNCTION mem0_auth_changed();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_user_deleted ON accounts_user;
DROP TRIGGER IF EXISTS accounts_user_access ON accounts_user;
DROP TRIGGER IF EXISTS apikeys_apikey_deleted ON apikeys_apikey;
DROP TRIGGER IF EXISTS apikeys_apikey_revoked ON apikeys_apikey;
DROP FUNCTION IF EXISTS mem0_auth_changed();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0001_initial"),
        ("accounts", "0005_cache_table"),
    ]

    operations = [migrations.RunSQL(CREATE, reverse_sql=DROP)]
