"""Test-only hook put on PYTHONPATH of ONE `kol run` to hold it inside the publish step.

Publishing tiny marts takes well under a second, too short to `kill -9` from outside at a
known point. With `KOL_TEST_PAUSE_PUBLISH=<marker file>` set, the first rename into
`<KOL_HOME>/serving/` is carried out, then the process writes the marker and sleeps, so the
test kills it with one Parquet copy already swapped and `marts.duckdb` not yet: the worst
moment of a publish. Nothing changes when the variable is unset.
"""

import os
import time

_marker = os.environ.get("KOL_TEST_PAUSE_PUBLISH")
if _marker:
    _serving = os.path.join(os.environ.get("KOL_HOME", ""), "serving") + os.sep
    _real_replace = os.replace

    def _replace_then_pause(src, dst, *args, **kwargs):
        _real_replace(src, dst, *args, **kwargs)
        if str(dst).startswith(_serving) and not os.path.exists(_marker):
            with open(_marker, "w") as fh:
                fh.write(str(dst))
            time.sleep(600)

    os.replace = _replace_then_pause
