from django.db import migrations

# deliveries_enqueue counts an account's delivery jobs waiting (its priority) in every memory change's transaction.
# Without this index the count read every waiting delivery job of every account: one member's backlog (a delete of
# 10,000 memories to 20 webhooks queues 200,000) made every other account's adds read it all. With it, an account's
# count reads its own jobs only.


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_secret_sealed"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX webhook_jobs_waiting ON procrastinate_jobs (((args->>'webhook_id')::bigint)) "
            "WHERE task_name = 'webhooks.deliver' AND status IN ('todo', 'doing')",
            "DROP INDEX webhook_jobs_waiting",
        ),
    ]
