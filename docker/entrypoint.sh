#!/bin/sh
# Container start: `manage.py bootstrap` (migrate, create the ADMIN_EMAIL admin once, print the status;
# safe on every start), `manage.py prepare_embedder`, then the command (gunicorn by default), as PID 1 so it receives SIGTERM.
set -eu
# localhost:8888 is where docker-compose.yml publishes the server; only used in the printed docs URL.
python manage.py bootstrap --base-url "http://localhost:8888"
# The embedder's ONNX export, once per data volume (the api and worker containers share it; a lock makes one wait).
python manage.py prepare_embedder
exec "$@"
