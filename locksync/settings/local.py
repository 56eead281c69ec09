"""Settings for running on a laptop: debug on, SQLite and the filesystem broker by default."""

from locksync.settings.base import *  # noqa: F403
from locksync.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
