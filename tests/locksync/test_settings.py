"""Production settings refuse insecure secrets; `check --deploy` is clean with real ones."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "s" * 10 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"}
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
    result = run_manage("check", ALLOWED_HOSTS="locksync.example.com", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_check_deploy_reports_nothing_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=GOOD_SECRET,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="locksync.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
