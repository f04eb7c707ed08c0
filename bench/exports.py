"""`python -m bench.exports YYYY-MM-DD`: land the campaign exports and roster for one day.

`kol run` does this between the extracts and the transform; there is no `kol` verb for it
alone, so the benchmark lands them through the same step function in a child process.
"""

from __future__ import annotations

import sys
from datetime import date

from pipeline import config, steps


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m bench.exports YYYY-MM-DD", file=sys.stderr)
        return 2
    day = date.fromisoformat(args[0])
    m = steps.load_exports(config.load(env_file=None), day, steps.new_run_id(day))
    print(f"exports {day}: {m.get('status')}")
    return 0 if m.get("status") in ("ok", "partial") else 1


if __name__ == "__main__":
    sys.exit(main())
