"""`python -m tests.chaos.launch ARGS` is `celery ARGS` with the harness's clock installed."""

import sys

from tests.chaos.clock import install_from_environment

if __name__ == "__main__":
    install_from_environment()
    from celery.__main__ import main

    sys.argv = ["celery", *sys.argv[1:]]
    sys.exit(main())
