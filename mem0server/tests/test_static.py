"""Swagger UI's assets are served by WhiteNoise with DEBUG off (as under gunicorn), from the installed packages.

As deployed, WhiteNoise lists the files when it starts (the other tests find them on request: conftest.py)."""

from __future__ import annotations

import re


def test_every_asset_the_docs_page_references_is_served_with_debug_off(client, settings):
    settings.DEBUG = False
    settings.WHITENOISE_AUTOREFRESH = False
    html = client.get("/docs").content.decode()
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert {a.rsplit(".", 1)[-1] for a in assets} >= {"css", "js"}
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(b"".join(response.streaming_content)) > 500, asset


def test_the_admin_stylesheet_is_served_with_debug_off(client, settings):
    settings.DEBUG = False
    settings.WHITENOISE_AUTOREFRESH = False
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"body" in b"".join(response.streaming_content)
