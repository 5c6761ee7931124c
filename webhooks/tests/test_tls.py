"""HTTPS deliveries dial the checked address yet send and verify the host's TLS name: a receiver whose
certificate names the host is reached, one whose certificate names another host is not. The receiver's CA
is trusted through WEBHOOK_CA_FILE, as an operator with a private CA would do."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import ADMIN
from memories.models import MemoryHistory
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

REAL_GETADDRINFO = socket.getaddrinfo


def self_signed(tmp_path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def serve_https(handler: type[BaseHTTPRequestHandler], cert_file: str, key_file: str) -> ThreadingHTTPServer:
    """An HTTPS server on 127.0.0.1 (a free port) with this certificate, serving in a thread; shut it down after."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def https_receiver(tmp_path, monkeypatch, settings):
    """An HTTPS receiver on 127.0.0.1 that hooks.example resolves to, with a certificate for `name`."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: REAL_GETADDRINFO("127.0.0.1" if host == "hooks.example" else host, *a, **k),
    )
    servers, hosts = [], []

    def start(name: str) -> str:
        cert_file, key_file = self_signed(tmp_path, name)
        settings.WEBHOOK_CA_FILE = cert_file

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hosts.append(self.headers["Host"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        httpd = serve_https(Handler, cert_file, key_file)
        servers.append(httpd)
        return f"https://hooks.example:{httpd.server_address[1]}/hook"

    yield start, hosts
    for httpd in servers:
        httpd.shutdown()


@pytest.fixture
def deliver_once(make_memory):
    """Create a webhook for the URL and make one delivery attempt of a memory add to it."""

    def deliver(url: str) -> WebhookDelivery:
        event_id = MemoryHistory.objects.get(memory_id=make_memory("Likes chess")).id
        webhook, _ = services.webhook_create(principal=ADMIN, name="tls", url=url, event_types=["memory_add"])
        with contextlib.suppress(services.DeliveryFailed):
            services.delivery_attempt(webhook_id=webhook.id, event_id=str(event_id), event_type="memory_add", attempt=1)
        return WebhookDelivery.objects.get(webhook=webhook)

    return deliver


def test_an_https_receiver_with_a_certificate_for_the_host_is_reached_at_the_checked_address(
    https_receiver, deliver_once
):
    start, hosts = https_receiver
    url = start("hooks.example")
    delivery = deliver_once(url)
    assert (delivery.status_code, delivery.succeeded) == (204, True), delivery.error
    assert hosts == [url.split("/")[2]]


def test_an_https_receiver_whose_certificate_names_another_host_is_refused(https_receiver, deliver_once):
    start, hosts = https_receiver
    delivery = deliver_once(start("elsewhere.example"))
    assert (delivery.status_code, delivery.succeeded) == (None, False)
    assert "Hostname mismatch, certificate is not valid for 'hooks.example'" in delivery.error
    assert hosts == []
