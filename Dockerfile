# syntax=docker/dockerfile:1
# mem0server behind gunicorn on port 8000. Production-like run: `docker compose up` (docker-compose.yml adds
# PostgreSQL + pgvector). Configuration comes from the environment at run time; nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEM0_DATA_DIR=/app/data \
    STATIC_ROOT=/app/staticfiles \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app

# Dependencies before the code, so a code change reuses this layer. torch comes first from PyTorch's CPU
# index, at the version requirements.txt pins (PyPI's Linux torch pulls gigabytes of CUDA libraries);
# its 2.13.0+cpu then satisfies the torch==2.13.0 pin, so the second install leaves it alone.
COPY requirements.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu "$(grep -E '^torch==' requirements.txt)" \
 && pip install -r requirements.txt

COPY . .
# The code is read-only to the server and PYTHONDONTWRITEBYTECODE set, so nothing running keeps its compiled code:
# compiled here, once, every start (bootstrap, gunicorn and its workers, the job worker, each document reader,
# memories/reading.py) loads it instead of compiling every module it imports again (~0.3 s of CPU for Django's set-up).
RUN python -m compileall -q .
# Admin and Swagger UI assets, served by WhiteNoise from STATIC_ROOT. Settings only parse a database URL
# and need some secret to import; these placeholders exist for this one command (nothing connects).
RUN DATABASE_URL=postgres://collectstatic@localhost/unused SECRET_KEY=collectstatic-placeholder \
    python manage.py collectstatic --noinput

# The code stays root-owned and read-only to the server; only the data folder (generated secret) is writable.
RUN useradd --system --uid 10001 --create-home --home-dir /home/mem0 --shell /usr/sbin/nologin mem0 \
 && mkdir -p /app/data \
 && chown mem0:mem0 /app/data
USER mem0

EXPOSE 8000
# No curl in slim images: a few lines of urllib (docker/healthcheck.py) probe GET /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 CMD ["python", "docker/healthcheck.py"]
# bootstrap (migrate, first admin, status) on every start, then the CMD.
ENTRYPOINT ["/bin/sh", "docker/entrypoint.sh"]
CMD ["gunicorn", "--config", "gunicorn.conf.py"]
