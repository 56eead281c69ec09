"""Settings for bench/pms_webhook.py: the local settings with Smoobu's API pointed at the
benchmark's fake (BENCH_SMOOBU_API_URL), for the benchmark process and its worker alike."""

import os

from locksync.settings.local import *  # noqa: F403

SMOOBU_API_URL = os.environ.get("BENCH_SMOOBU_API_URL", "")
ALLOWED_HOSTS = ["*"]
