"""A real PgBouncer (Debian's package; `make test-setup` installs it) in front of the test PostgreSQL.

It listens on a free loopback port and passes every database name on to the server of the test settings. Run as
root (as the suite runs in CI), it drops to the user that owns PostgreSQL's socket folder: PgBouncer refuses to run
as root, and only that user may reach the embedded server's socket.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from mem0server.tests.server_process import free_port, wait_for

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@contextlib.contextmanager
def pgbouncer(settings_dict: dict, folder: Path, *, mode: str, server_connections: int = 2) -> Iterator[int]:
    """PgBouncer in `mode` (session or transaction), at most `server_connections` to PostgreSQL: its port."""
    assert Path(BINARY).exists(), "pgbouncer is not installed: `make test-setup` installs Debian's package"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = settings_dict["USER"] or pwd.getpwuid(os.getuid()).pw_name
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    lines = [
        "[databases]",
        f"* = host={settings_dict['HOST']} port={settings_dict.get('PORT') or 5432}",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = trust",
        f"auth_file = {folder / 'users.txt'}",
        f"pool_mode = {mode}",
        f"default_pool_size = {server_connections}",
        "max_client_conn = 200",
    ]
    if os.getuid() == 0:
        owner = Path(settings_dict["HOST"]).stat().st_uid if settings_dict["HOST"].startswith("/") else 65534
        lines.append(f"user = {pwd.getpwuid(owner).pw_name}")
    (folder / "pgbouncer.ini").write_text("\n".join(lines) + "\n")
    log = folder / "pgbouncer.log"  # a file, not a pipe nobody reads: a full pipe would stop PgBouncer mid-test
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603  (Debian's binary, a file written above)
            [BINARY, str(folder / "pgbouncer.ini")], stdout=output, stderr=subprocess.STDOUT
        )
    try:

        def listening() -> bool:
            assert process.poll() is None, f"pgbouncer exited: {log.read_text()}"
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, timeout=30, what="pgbouncer listening")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
