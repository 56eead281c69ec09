"""docker-compose.yml: no Docker engine runs here, so its shape is checked with PyYAML."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ["web", "worker", "worker-feeds", "worker-messages", "beat"]
WORKERS = ["worker", "worker-feeds", "worker-messages"]
REQUIRED_ENV = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "ALLOWED_HOSTS",
    "EMAIL_URL",
    "DJANGO_SETTINGS_MODULE",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_redis_web_worker_and_beat(compose):
    services = compose["services"]
    assert {"postgres", "redis", *APP_SERVICES} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_web_worker_and_beat_share_one_image_built_from_the_dockerfile(compose):
    services = compose["services"]
    builds = {str(services[name]["build"]) for name in [*APP_SERVICES, "migrate"]}
    images = {services[name]["image"] for name in [*APP_SERVICES, "migrate"]}
    assert builds == {"."}
    assert len(images) == 1
    assert (ROOT / "Dockerfile").exists()


def test_each_app_service_runs_its_own_process(compose):
    commands = {name: " ".join(compose["services"][name]["command"]) for name in APP_SERVICES}
    assert commands["web"].startswith("gunicorn locksync.wsgi")
    for name in WORKERS:
        assert commands[name].startswith("python -m celery -A locksync worker"), name
    assert commands["beat"].startswith("python -m celery -A locksync beat")


def test_app_services_get_production_settings_and_every_required_variable(compose):
    for name in [*APP_SERVICES, "migrate"]:
        environment = compose["services"][name]["environment"]
        assert set(environment) >= REQUIRED_ENV, name
        assert environment["DJANGO_SETTINGS_MODULE"] == "locksync.settings.production"
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:")


def test_migrations_run_once_before_web_worker_and_beat_start(compose):
    services = compose["services"]
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--no-input"]
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["postgres"]["condition"] == "service_healthy", name


def test_the_image_installs_the_project_collects_static_and_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "pip install ." in dockerfile
    assert "collectstatic" in dockerfile
    assert '"gunicorn", "locksync.wsgi"' in dockerfile


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    docker_compose = shutil.which("docker-compose")
    return [docker_compose] if docker_compose else None


def test_docker_compose_config_accepts_the_file():
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def _queues_of(service: dict) -> set[str]:
    command = service["command"]
    return set(command[command.index("-Q") + 1].split(","))


def test_workers_consume_every_queue_and_code_work_has_a_worker_of_its_own(compose, settings):
    # rule F4: a slow feed or mail server never delays code work
    services = compose["services"]
    consumed = {name: _queues_of(services[name]) for name in WORKERS}
    assert consumed["worker"] == {settings.CELERY_TASK_DEFAULT_QUEUE}
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert (
        set().union(*consumed.values()) == {"celery", *routed} == set(settings.CELERY_QUEUE_NAMES)
    )


def test_feed_and_message_tasks_are_routed_off_the_code_queue(settings):
    from locksync.celery import app

    router = app.amqp.router

    def queue_of(task: str) -> str:
        route = router.route({}, task)
        return route["queue"].name

    assert queue_of("reservations.tasks.ical_feed_import_one") == "feeds"
    assert queue_of("reservations.tasks.ical_feeds_import") == "feeds"
    assert queue_of("messaging.tasks.message_send") == "messages"
    assert queue_of("accesscodes.tasks.lock_dispatch") == "celery"
    assert queue_of("accesscodes.tasks.dispatch_due") == "celery"


def test_the_code_worker_runs_a_thread_pool_sized_by_an_environment_variable(compose):
    # rule S5: threads are safe because every pass holds its lock's lease
    command = compose["services"]["worker"]["command"]
    assert command[command.index("--pool") + 1] == "threads"
    assert command[command.index("--concurrency") + 1] == "${WORKER_CONCURRENCY:-16}"


def test_web_workers_and_beat_have_healthchecks(compose):
    services = compose["services"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    for name in WORKERS:
        assert "inspect ping" in " ".join(services[name]["healthcheck"]["test"]), name
    assert "health_check healthz" in " ".join(services["beat"]["healthcheck"]["test"])


def test_beat_is_never_scaled_and_mail_never_defaults_to_the_console(compose):
    services = compose["services"]
    assert "deploy" not in services["beat"] and "scale" not in services["beat"]
    for name in [*APP_SERVICES, "migrate"]:
        email_url = services[name]["environment"]["EMAIL_URL"]
        assert "consolemail" not in email_url and "filemail" not in email_url, name
        assert email_url == "${EMAIL_URL:-}", name
