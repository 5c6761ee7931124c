#!/bin/sh
# Container start: `manage.py bootstrap` (migrate, create the ADMIN_EMAIL admin once, the embedder's ONNX export
# once per data volume, print the status; safe on every start), then the command (gunicorn by default), as PID 1
# so it receives SIGTERM. The api and worker containers share the volume; a lock makes one wait for the export.
set -eu
# Before gunicorn, as `make serve` does: a port in use, or a WEB_CONCURRENCY gunicorn cannot read, is one line.
case "${1:-}" in
    gunicorn) python mem0server/portcheck.py "${HOST:-127.0.0.1}" "${PORT:-8000}" ;;
esac
# localhost:8888 is where docker-compose.yml publishes the server; only used in the printed docs URL.
python manage.py bootstrap --base-url "http://localhost:8888"
exec "$@"
