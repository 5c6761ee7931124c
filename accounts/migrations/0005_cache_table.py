"""The table of Django's database cache (settings.CACHE_TABLE): the throttle counters every worker shares when
REDIS_URL is unset. Created here rather than by `createcachetable`, so every database has it whatever REDIS_URL
says at migrate time; the columns are those `createcachetable` makes."""

from django.db import migrations

CREATE = """
CREATE TABLE IF NOT EXISTS mem0server_cache (
    cache_key varchar(255) NOT NULL PRIMARY KEY,
    value text NOT NULL,
    expires timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS mem0server_cache_expires ON mem0server_cache (expires);
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_token_generation")]

    operations = [migrations.RunSQL(CREATE, reverse_sql="DROP TABLE IF EXISTS mem0server_cache")]
