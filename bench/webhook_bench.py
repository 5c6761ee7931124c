"""Webhooks: what emission adds to a memory write, and how fast one worker delivers.

In one process, on a throw-away database (bench_webhooks_mem0, dropped at the end) of the configured
PostgreSQL, with the local embedder and a local receiver on 127.0.0.1 that answers 200 at once:

1. `--adds` single-message adds (infer=false, through memories.services) for an account with no webhook,
   interleaved with as many for one with a subscribed webhook; and the time the signal's listener takes to
   queue the deliveries (a webhook lookup, plus one job when subscribed).
2. The queued deliveries run by procrastinate's worker in this process (`--concurrency` jobs at once):
   deliveries per second, each one HTTP POST plus its delivery-log row.
3. With `--delete N`: a delete of a scope of N memories by an account with `--webhooks` webhooks subscribed to
   memory_delete (none, then that many), timed as the request's transaction, and the jobs it queued; with
   `--deliver`, how long the worker then takes to deliver all N × webhooks events.

    .venv/bin/python bench/webhook_bench.py --adds 200
    .venv/bin/python bench/webhook_bench.py --adds 0 --delete 5000 --webhooks 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import receivers  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")


def receiver() -> tuple[str, ThreadingHTTPServer, list[int]]:
    received: list[int] = []
    url, server = receivers.answering_receiver(lambda headers: received.append(1))
    return url, server, received


def ms(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"mean {statistics.fmean(values) * 1000:.1f} ms, p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adds", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--delete", type=int, default=0, help="memories in the deleted scope (0: skip)")
    parser.add_argument("--webhooks", type=int, default=20, help="webhooks of the deleting account")
    parser.add_argument("--deliver", action="store_true", help="then run the worker until all are delivered")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from accounts.models import User
    from memories import services
    from memories.embeddings import get_embedder
    from webhooks import services as webhook_services

    setup_test_environment()
    settings.WEBHOOK_ALLOW_PRIVATE = True
    connection.settings_dict["TEST"]["NAME"] = "bench_webhooks_mem0"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    url, server, received = receiver()
    try:
        get_embedder().embed(["warm up"])
        quiet = User.objects.create_user(email="quiet@example.com")
        hooked = User.objects.create_user(email="hooked@example.com")
        webhook_services.webhook_create(principal=hooked, name="bench", url=url, event_types=["memory_add"])

        def add(user, i: int) -> float:
            started = time.perf_counter()
            services.memories_add(
                principal=user,
                messages=[services.Message("user", f"Bench fact number {i} about {user.email}")],
                scope={"user_id": "bench"},
                infer=False,
            )
            return time.perf_counter() - started

        # Interleaved, so a busy machine slows both series alike; the queueing itself is timed apart too.
        enqueue_seconds: list[float] = []
        original = webhook_services.deliveries_enqueue

        def timed_enqueue(**kwargs):
            started = time.perf_counter()
            try:
                return original(**kwargs)
            finally:
                enqueue_seconds.append(time.perf_counter() - started)

        if args.delete:
            scope_delete(args, url)
            return
        webhook_services.deliveries_enqueue = timed_enqueue
        without, with_hook = [], []
        for i in range(args.adds):
            without.append(add(quiet, i))
            with_hook.append(add(hooked, i))
        webhook_services.deliveries_enqueue = original
        hooked_enqueues = enqueue_seconds[1::2]
        print(f"add, no webhook:          {ms(without)}")
        print(f"add, one webhook:         {ms(with_hook)}")
        print(f"queueing, no webhook:     {ms(enqueue_seconds[0::2])} (the webhook lookup)")
        print(f"queueing, one webhook:    {ms(hooked_enqueues)} (lookup + one job)")

        deliver_all(args.adds, args.concurrency, received)
    finally:
        server.shutdown()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def deliver_all(expected: int, concurrency: int, received: list[int] | None = None) -> None:
    """Run procrastinate's worker in this process until no job is left (again while jobs queueing deliveries left
    theirs behind a stopping worker); print the deliveries per second."""
    from django.db.models import Q
    from django.db.models.functions import Now
    from procrastinate.contrib.django import app
    from procrastinate.contrib.django.models import ProcrastinateJob

    from webhooks.models import WebhookDelivery

    due = Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=Now())
    started = time.perf_counter()
    while ProcrastinateJob.objects.filter(due, status="todo").exists():
        with app.replace_connector(app.connector.get_worker_connector()):
            app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    delivered = WebhookDelivery.objects.filter(succeeded=True).count()
    got = "" if received is None else f"; the receiver got {len(received)}"
    print(
        f"deliveries:               {delivered} of {expected} in {elapsed:.2f} s = {delivered / elapsed:.0f}/s "
        f"(concurrency {concurrency}{got})"
    )


def scope_delete(args, url: str) -> None:
    from django.db import connection

    from accounts.models import User
    from memories import services
    from webhooks import services as webhook_services

    def jobs() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
            return cursor.fetchone()[0]

    def fill_and_delete(user) -> tuple[float, int]:
        for first in range(0, args.delete, 500):
            messages = [services.Message("user", f"Fact {n} of a large scope") for n in range(first, first + 500)]
            services.memories_add(
                principal=user, messages=messages[: args.delete - first], scope={"user_id": "big"}, infer=False
            )
        before = jobs()
        started = time.perf_counter()
        deleted = services.memories_delete_scope(principal=user, scope={"user_id": "big"}).memories
        elapsed = time.perf_counter() - started
        if deleted != args.delete:
            raise SystemExit(f"deleted {deleted} of {args.delete}")
        return elapsed, jobs() - before

    quiet = User.objects.create_user(email="quiet-delete@example.com")
    seconds, queued = fill_and_delete(quiet)
    print(f"delete of {args.delete} memories, no webhook:  {seconds:.2f} s, {queued} jobs queued")
    hooked = User.objects.create_user(email="hooked-delete@example.com")
    for n in range(args.webhooks):
        webhook_services.webhook_create(principal=hooked, name=f"bench {n}", url=url, event_types=["memory_delete"])
    seconds_hooked, queued = fill_and_delete(hooked)
    print(
        f"delete of {args.delete} memories, {args.webhooks} webhooks: {seconds_hooked:.2f} s "
        f"({seconds_hooked / seconds:.1f}x), {queued} jobs queued"
    )
    if not args.deliver:
        return
    deliver_all(args.delete * args.webhooks, args.concurrency)


if __name__ == "__main__":
    main()
