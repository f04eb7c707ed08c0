"""Quality gate (GX suites as code), Data Docs and the run ledger; imports nothing of the project.

Importing GX (especially after Airflow) logs thousands of "Skipping registering function"
lines and may phone home: both are switched off here, before any module imports GX.
"""

import logging
import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
logging.getLogger("great_expectations").setLevel(logging.WARNING)
