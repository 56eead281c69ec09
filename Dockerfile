# One image for web (gunicorn), worker and beat; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN pip install .

COPY . .
# Static files are collected at build time; base settings suffice (no secrets are read).
RUN DJANGO_SETTINGS_MODULE=locksync.settings.base python manage.py collectstatic --no-input -v 0 \
    && useradd --create-home --uid 10001 locksync \
    && mkdir -p /app/var \
    && chown locksync /app/var

USER locksync
ENV DJANGO_SETTINGS_MODULE=locksync.settings.production
EXPOSE 8000
CMD ["gunicorn", "locksync.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
