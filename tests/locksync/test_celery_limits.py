"""Every task has a time limit, and the frequent sweeps expire instead of piling up (issue
#21: a task stuck on a dead socket held a worker for good; only the lock pass had limits)."""

from locksync.celery import app

OUR_APPS = ("accesscodes.", "integrations.", "reservations.", "messaging.", "guests.", "pms.")


def our_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith(OUR_APPS)}


def test_every_task_of_ours_stops_within_a_bounded_time():
    tasks = our_tasks()
    assert len(tasks) >= 10, sorted(tasks)
    for name, task in tasks.items():
        hard = task.time_limit or app.conf.task_time_limit
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert hard and soft, f"{name} has no time limit"
        assert soft < hard <= 15 * 60, name


def test_every_sweep_run_each_few_minutes_expires_before_its_next_run():
    for name, entry in app.conf.beat_schedule.items():
        if entry["schedule"] <= 300:
            expires = entry.get("options", {}).get("expires", 0)
            assert 0 < expires <= max(entry["schedule"], 60), name
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} <= set(our_tasks())
