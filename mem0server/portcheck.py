"""Can gunicorn serve on HOST:PORT? `make serve` and the Docker image ask first, before migrations and logs.

    python mem0server/portcheck.py 127.0.0.1 8000

Exits 0 when the port can be bound and gunicorn can start in this environment; otherwise prints one line naming the
port or the variable and what to do, and exits 1. Plain Python, no Django: it runs before anything else is loaded.
"""

from __future__ import annotations

import os
import socket
import sys


def port_problem(host: str, port: int) -> str | None:
    """None if `host:port` can be bound now, else why not, in one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"HOST={host} is not an address this machine can serve on ({exc.strerror})."
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As servers bind: a port left in TIME_WAIT by a server that just stopped is free to reuse.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except PermissionError:
            return f"Port {port} needs privileges to serve on; choose another with PORT=, e.g. PORT=8001."
        except OSError as exc:
            return (
                f"Port {port} on {host} is already in use ({exc.strerror}): stop what serves on it, "
                f"or choose another port with PORT=, e.g. `make serve PORT={port + 1}`."
            )
    return None


def environment_problem(environ: dict[str, str]) -> str | None:
    """gunicorn reads WEB_CONCURRENCY itself, with int(), as it is imported: before gunicorn.conf.py, which checks the
    variables it reads, and before the .env file is read. A value in the environment that is not a whole number, an
    empty one too, was gunicorn's traceback; None if there is none."""
    raw = environ.get("WEB_CONCURRENCY")
    if raw is None:
        return None
    if not raw.strip():
        return "WEB_CONCURRENCY is set but empty: unset it (gunicorn reads it as a number of workers) or give a number."
    try:
        int(raw)
    except ValueError:
        return f"WEB_CONCURRENCY must be a whole number, not {raw!r}."
    return None


def main(argv: list[str]) -> int:
    host, port = argv[1], argv[2]
    if not port.isdigit() or not 0 < int(port) < 65536:
        print(f"PORT must be a port number (1-65535), not {port!r}.", file=sys.stderr)
        return 1
    problem = environment_problem(dict(os.environ)) or port_problem(host, int(port))
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
