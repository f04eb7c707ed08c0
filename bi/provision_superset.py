"""Import the dashboards of `dashboards.py` into Superset (run with Superset's own Python).

The database connection is `bi_reader`'s: its password comes from the environment
(BI_TRIAL_READER_PASSWORD) straight into Superset's encrypted metadata, never into a file.
Usage: python bi/provision_superset.py  (SUPERSET_CONFIG_PATH and BI_TRIAL_* set by bi_stack).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboards import DASHBOARDS, DATABASE_FILE, bundle


def main() -> int:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import db, security_manager
        from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
        from superset.connectors.sqla.models import SqlaTable
        from superset.utils.core import override_user

        admin = security_manager.find_user(username=os.environ["BI_TRIAL_ADMIN_USER"])
        uri = (
            f"postgresql+psycopg2://bi_reader:XXXXXXXXXX@127.0.0.1:"
            f"{os.environ['BI_TRIAL_PG_PORT']}/{os.environ['BI_TRIAL_PG_DATABASE']}"
        )
        with override_user(admin):
            ImportDashboardsCommand(
                bundle(uri),
                passwords={DATABASE_FILE: os.environ["BI_TRIAL_READER_PASSWORD"]},
                overwrite=True,
            ).run()
            names = {c.dataset.name for d in DASHBOARDS for c in d.charts}
            for dataset in db.session.query(SqlaTable).filter(SqlaTable.table_name.in_(names)):
                dataset.fetch_metadata()  # the columns of each query, as PostgreSQL types them
            db.session.commit()
    print(f"superset: {len(DASHBOARDS)} dashboards provisioned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
