"""Production settings refuse insecure secrets, undelivered mail and embedded services;
`check --deploy` is clean with real ones."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "s" * 10 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
# `check` neither connects to the database nor to Redis: these only need to name them.
SERVICES = {
    "DATABASE_URL": "postgres://locksync@127.0.0.1:5432/locksync",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}
PRODUCTION = {
    **SERVICES,
    "SECRET_KEY": GOOD_SECRET,
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "locksync.example.com",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "EMAIL_URL",
            "ALLOW_EMBEDDED_IN_PRODUCTION",
        }
    }
    environment.update(DJANGO_SETTINGS_MODULE="locksync.settings.production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"SECRET_KEY": GOOD_SECRET},
        {"FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()},
        {
            "SECRET_KEY": "django-insecure-locksync-development-only-never-in-production",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        },
        {
            "SECRET_KEY": GOOD_SECRET,
            "FIELD_ENCRYPTION_KEY": "pjowzDkoRJKVTKhRrd0KtE9xgL2rZH2yi3xDVOJkJRU=",
        },
    ],
    ids=["nothing", "no-encryption-key", "no-secret", "dev-secret", "dev-encryption-key"],
)
def test_production_refuses_to_start_without_real_secrets(env):
    result = run_manage("check", ALLOWED_HOSTS="locksync.example.com", **{**SERVICES, **env})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_check_deploy_reports_nothing_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("email_url", ["consolemail://", "filemail:///tmp/mail", "memorymail://"])
def test_production_refuses_a_mail_backend_that_prints_or_keeps_guest_emails(email_url):
    # rule §3: production refuses to send email to the console
    result = run_manage("check", **{**PRODUCTION, "EMAIL_URL": email_url})
    assert result.returncode != 0
    assert "production needs a mail server" in result.stderr


def test_production_refuses_sqlite_and_the_filesystem_broker_unless_allowed():
    no_database = {key: value for key, value in PRODUCTION.items() if key != "DATABASE_URL"}
    result = run_manage("check", **no_database)
    assert result.returncode != 0
    assert "production would run on SQLite" in result.stderr
    no_redis = {key: value for key, value in PRODUCTION.items() if key != "REDIS_URL"}
    result = run_manage("check", **no_redis)
    assert result.returncode != 0
    assert "production would queue work in a folder" in result.stderr
    allowed = {**no_database, **no_redis, "REDIS_URL": ""}
    result = run_manage("check", **{**allowed, "ALLOW_EMBEDDED_IN_PRODUCTION": "1"})
    assert result.returncode == 0, result.stderr
