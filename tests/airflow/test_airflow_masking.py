"""Airflow's own log masker learns every form a token can be echoed in, not just the literal."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import kol_tasks as kol
from airflow.sdk import Connection

TOKEN = "conn/tok+en=Zq8Wv3Lm"


def test_settings_from_airflow_mask_every_encoding_of_a_connection_token(tmp_path):
    from airflow.sdk.log import _secrets_masker

    conn = Connection(conn_id="kol_youtube", conn_type="http", host="h", password=TOKEN)
    kol.settings_from_airflow(
        environ={"KOL_HOME": str(tmp_path / "kol")},
        env_file=None,
        get_connection={"kol_youtube": conn}.get,
    )
    forms = [
        TOKEN,
        quote(TOKEN, safe=""),
        quote_plus(TOKEN),
        json.dumps(TOKEN)[1:-1].replace("/", "\\/"),
    ]
    line = "echo " + " | ".join(forms)
    masked = _secrets_masker().redact(line)
    assert masked == "echo " + " | ".join(["***"] * len(forms))
