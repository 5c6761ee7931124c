"""Create pgvector's `vector` extension, in its own migration, with a clear error where it is missing."""

from django.db import migrations


def create_vector_extension(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
        if cursor.fetchone():
            return
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if not cursor.fetchone():
            raise RuntimeError(
                "The PostgreSQL server in DATABASE_URL has no pgvector extension. Install pgvector "
                "(or use the pgvector/pgvector Docker image), or unset DATABASE_URL to use the embedded server."
            )
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.RunPython(create_vector_extension, migrations.RunPython.noop)]
