"""The events in the Django admin: listed and viewable, never added, changed or deleted there."""

from __future__ import annotations

import pytest

from accounts.models import User
from events.tests.test_api import queue_add


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser(email="root@example.com", password="a-long-password-123"))
    return client


def test_an_admin_lists_and_views_events_read_only(staff_client, member):
    event = queue_add(member, "Owns a cat")
    listing = staff_client.get("/admin/events/event/")
    assert listing.status_code == 200 and str(event.id) in listing.content.decode()
    page = staff_client.get(f"/admin/events/event/{event.id}/change/")
    assert page.status_code == 200 and "PENDING" in page.content.decode()
    assert staff_client.get("/admin/events/event/add/").status_code == 403
    assert staff_client.post(f"/admin/events/event/{event.id}/delete/", {"post": "yes"}).status_code == 403
