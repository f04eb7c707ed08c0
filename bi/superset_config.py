"""Superset settings for `make bi` (a local trial): everything comes from the environment
that `pipeline/bi_stack.py` sets, so no secret is written to a file."""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.environ["BI_TRIAL_SUPERSET_DB"]
SQLALCHEMY_EXAMPLES_URI = None
# No calls home, no thumbnails or alerts workers: a local trial needs none of them.
FEATURE_FLAGS = {"THUMBNAILS": False, "ALERT_REPORTS": False}
WTF_CSRF_ENABLED = True
TALISMAN_ENABLED = False
