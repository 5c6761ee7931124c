"""Row helpers shared by services."""

from __future__ import annotations

from django.db import IntegrityError, models, transaction


def row_get_or_create(model: type[models.Model], **lookup) -> models.Model:
    """The one row with these values (a unique constraint says so), created on first use; when a concurrent
    request creates it between the read and the insert, that request's row."""
    try:
        with transaction.atomic():
            return model.objects.get_or_create(**lookup)[0]
    except IntegrityError:
        return model.objects.get(**lookup)
