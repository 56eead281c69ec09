"""`python3 dev.py run` starts a small set of processes: web without the reloader, one worker."""

import threading
from types import SimpleNamespace

import pytest
from django.conf import settings

import dev
from locksync.celery import BeatThread, app


def test_the_web_server_runs_without_the_autoreloader_unless_asked():
    assert "--noreload" in dev.web_command(reload=False)
    assert "--noreload" not in dev.web_command(reload=True)


@pytest.mark.parametrize(
    ("args", "environ", "reload"),
    [
        ([], {}, False),
        (["--reload"], {}, True),
        ([], {"LOCKSYNC_RELOAD": "1"}, True),
        ([], {"LOCKSYNC_RELOAD": "0"}, False),
        ([], {"LOCKSYNC_RELOAD": ""}, False),
    ],
)
def test_reloading_is_turned_on_by_a_flag_or_an_environment_variable(args, environ, reload):
    assert dev.wants_reload(args, environ) is reload


def test_the_one_worker_runs_threads_with_beat_inside_it():
    command = dev.worker_command()
    assert command[command.index("--pool") + 1] == "threads"
    assert "--beat-thread" in command
    assert "-B" not in command and "--beat" not in command


def test_the_worker_consumes_every_queue_a_task_is_routed_to():
    queues = set(dev.worker_command()[dev.worker_command().index("--queues") + 1].split(","))
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    routed = {route["queue"] for route in routes.values() if "queue" in route}
    assert {"celery", "feeds", "messages"} | routed <= queues


def test_beat_thread_is_off_unless_the_worker_is_given_the_flag():
    worker = SimpleNamespace(app=app, schedule_filename="unused", scheduler=None)
    assert BeatThread(worker).enabled is False
    assert BeatThread(worker, beat_thread=True).enabled is True


def test_beat_thread_makes_beat_a_thread_of_the_worker_not_a_process(tmp_path):
    worker = SimpleNamespace(app=app, schedule_filename=str(tmp_path / "schedule"), scheduler=None)
    service = BeatThread(worker, beat_thread=True).create(worker)
    assert isinstance(service, threading.Thread)
    assert service.daemon


def test_the_worker_command_line_accepts_beat_thread():
    options = [name for option in app.user_options["worker"] for name in option.opts]
    assert "--beat-thread" in options


@pytest.mark.parametrize(("pytest_code", "exit_code"), [(0, 0), (1, 1), (2, 2), (5, 0)])
def test_dev_py_test_passes_pytests_exit_code_on_except_for_an_empty_selection(
    monkeypatch, pytest_code, exit_code
):
    calls = []
    monkeypatch.setattr(dev, "setup", lambda: None)
    monkeypatch.setattr(
        dev.subprocess,
        "run",
        lambda command, **kwargs: calls.append(command) or SimpleNamespace(returncode=pytest_code),
    )
    monkeypatch.setattr(dev.sys, "argv", ["dev.py", "test", "tests/dashboard", "-k", "queries"])
    assert dev.main() == exit_code
    assert calls[0][1:] == ["-m", "pytest", "tests/dashboard", "-k", "queries"]


class _Running:
    def poll(self):
        return None


def test_dev_run_waits_for_healthz_to_answer_before_saying_it_runs():
    # issue #24 wall 6: the banner printed ~8 s before the web server answered
    calls = []

    def answers(url):
        calls.append(url)
        return len(calls) >= 3

    assert dev.wait_until_answering([("web", _Running())], answers=answers) == ""
    assert len(calls) == 3 and calls[0].endswith("/healthz")


def test_dev_run_gives_up_when_the_web_server_never_answers_or_exits():
    never = dev.wait_until_answering([("web", _Running())], timeout=0.3, answers=lambda url: False)
    assert "did not answer" in never
    exited = SimpleNamespace(poll=lambda: 1)
    assert dev.wait_until_answering([("web", exited)], answers=lambda url: True) == "web exited"


def test_healthz_answers_is_false_while_nothing_listens():
    assert dev.healthz_answers("http://127.0.0.1:9/healthz") is False


@pytest.mark.parametrize(("port", "expected"), [("8011", "http://127.0.0.1:8011"), ("", None)])
def test_site_url_follows_the_port_of_the_embedded_default(port, expected):
    # issue #24 wall 1: with PORT set every guest link pointed at port 8000
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT")}
    if port:
        environ["PORT"] = port
    environ["DJANGO_SETTINGS_MODULE"] = "locksync.settings.local"
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SITE_URL)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == (expected or "http://127.0.0.1:8000")
