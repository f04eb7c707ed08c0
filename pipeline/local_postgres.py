"""A throwaway local PostgreSQL server (initdb + pg_ctl) for `make bi` and the serving tests.

It listens on 127.0.0.1 and a Unix socket in its own folder, on a free port. The superuser
`postgres` connects through that socket without a password (trust, local only); every other
role connects over TCP with its SCRAM password. PostgreSQL refuses to run as root: as root,
initdb and pg_ctl run as the `postgres` user on a folder it owns.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Secret

PG_BIN_DIRS = (
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/17/bin",
)
SUPERUSER = "postgres"


class LocalPostgresError(RuntimeError):
    """The local server could not be created, started or stopped."""


def pg_bin_dir() -> Path:
    """The folder of initdb/pg_ctl: Debian's, else the PATH's."""
    candidates = list(PG_BIN_DIRS)
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).parent))
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise LocalPostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql "
        "(or put their folder on the PATH)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalPostgres:
    """One server in `root` (data/, the socket, log); `start()` creates it on first use."""

    root: Path
    port: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def admin_uri(self) -> Secret:
        """The superuser over the Unix socket (no password: local trust)."""
        return Secret(self.uri(SUPERUSER, None, "postgres", socket_=True).reveal())

    def uri(
        self, user: str, password: Secret | None, database: str, socket_: bool = False
    ) -> Secret:
        """A libpq URI for `user` (TCP on 127.0.0.1, or the socket)."""
        from urllib.parse import quote

        auth = user + (f":{quote(password.reveal(), safe='')}" if password else "")
        if socket_:
            return Secret(
                f"postgresql://{auth}@/{database}?host={quote(str(self.root), safe='')}"
                f"&port={self.port}"
            )
        return Secret(f"postgresql://{auth}@127.0.0.1:{self.port}/{database}")

    def start(self) -> LocalPostgres:
        bin_dir = pg_bin_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self._give_to_postgres(self.root)
        self.port = self.port or free_port()
        if not (self.data_dir / "PG_VERSION").is_file():
            self._run(
                bin_dir / "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            bin_dir / "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        """Fast shutdown (open sessions are closed); a stopped server is left as it is."""
        if not (self.data_dir / "postmaster.pid").is_file():
            return
        try:
            self._run(pg_bin_dir() / "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        except LocalPostgresError:
            # Ctrl-C reaches the server too (same process group): it may be shutting down
            # already, and pg_ctl then finds no server to stop.
            deadline = time.monotonic() + 30
            while (self.data_dir / "postmaster.pid").is_file():
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _run(self, *cmd: object) -> None:
        args = [str(c) for c in cmd]
        if os.geteuid() == 0:
            args = ["runuser", "-u", SUPERUSER, "--", *args]
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise LocalPostgresError(f"{Path(str(cmd[0])).name} failed: " + " | ".join(tail))

    @staticmethod
    def _give_to_postgres(folder: Path) -> None:
        """As root, the folder must belong to the `postgres` user (and be reachable by it)."""
        if os.geteuid() != 0:
            return
        shutil.chown(folder, user=SUPERUSER)
        folder.chmod(0o700)
        probe = subprocess.run(
            ["runuser", "-u", SUPERUSER, "--", "test", "-w", str(folder)], check=False
        )
        if probe.returncode != 0:
            raise LocalPostgresError(
                f"the postgres user cannot reach {folder} (a parent folder is private): "
                "put it under a folder every user may traverse, such as /tmp"
            )
