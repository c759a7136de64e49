"""A throw-away PostgreSQL cluster for fault tests: created in a temp dir, restarted at will.

The machine's shared server (127.0.0.1:5432) is never touched: fault tests need to stop and
restart a database, and only one they created themselves may be treated that way. The cluster
is made with ``initdb`` and run with ``pg_ctl`` as the ``postgres`` OS user when the tests run
as root (``initdb`` refuses root), on a free port on 127.0.0.1, with trust auth and its socket
in its own directory.

    with PgCluster() as pg:
        engine = create_engine(pg.url)
        pg.restart()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

RUN_AS = "postgres"


class PgClusterUnavailable(RuntimeError):
    """No PostgreSQL binaries (or no user to run them as) on this machine."""


def find_bin_dir() -> Path:
    """The directory holding initdb and pg_ctl: the newest /usr/lib/postgresql/*/bin, else PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    raise PgClusterUnavailable("initdb/pg_ctl not found in /usr/lib/postgresql/*/bin or PATH")


def find_runuser() -> str:
    """``runuser`` where util-linux installs it (Debian: /usr/sbin, /sbin), which a PATH of
    a non-root shell or a CI runner often leaves out; else PATH."""
    for candidate in ("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("runuser")
    if found:
        return found
    raise PgClusterUnavailable("running as root but runuser (util-linux) is not installed")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One PostgreSQL cluster in a temp dir; ``url`` is a SQLAlchemy URL to its ``postgres`` db."""

    def __init__(self, database: str = "rootkey") -> None:
        self.bin_dir = find_bin_dir()
        self.database = database
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.owner = pwd.getpwnam(RUN_AS)
            except KeyError:
                raise PgClusterUnavailable(f"running as root but no {RUN_AS!r} user") from None
            self.runuser = find_runuser()
        self.base = Path(tempfile.mkdtemp(prefix="rootkey-pg-"))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log_file = self.base / "postgres.log"
        self.port = free_port()
        self.initialised = False

    # -- plumbing ---------------------------------------------------------------------------

    def command(self, *args: str, check: bool = True, timeout: float = 60.0) -> str:
        argv = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_root:
            argv = [self.runuser, "-u", RUN_AS, "--", *argv]
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )
        if check and done.returncode != 0:
            output = done.stderr.strip() or done.stdout.strip()
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {output}\n{self.server_log()}"
            )
        return done.stdout

    def server_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def chown_base(self) -> None:
        if not self.as_root:
            return
        for path in (self.base, self.socket_dir):
            os.chown(path, self.owner.pw_uid, self.owner.pw_gid)
        os.chmod(self.base, 0o700)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    def init(self) -> None:
        self.socket_dir.mkdir(exist_ok=True)
        self.chown_base()
        self.command(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# throw-away test cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 50\nshared_buffers = 16MB\n"
            )
        self.initialised = True

    def start(self, timeout: float = 30.0) -> None:
        if not self.initialised:
            self.init()
        self.command(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
            "-t", str(int(timeout)), "start",
            timeout=timeout + 10,
        )  # fmt: skip
        if not self.initialised_db():
            self.command(
                "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                self.database,
            )  # fmt: skip

    def initialised_db(self) -> bool:
        out = self.command(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
            "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'",
        )  # fmt: skip
        return out.strip() == "1"

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (disconnect clients, clean shutdown) or ``immediate``."""
        if self.running():
            self.command("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> None:
        """Stop, stay down ``down_for`` seconds (clients see refused connections), start."""
        self.stop(mode)
        if down_for:
            time.sleep(down_for)
        self.start()

    def running(self) -> bool:
        if not self.initialised:
            return False
        return (
            self.command("pg_ctl", "-D", str(self.data_dir), "status", check=False)
            .strip()
            .startswith("pg_ctl: server is running")
        )

    def accepts_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def reset(self) -> None:
        """Running, and as new: every database but the system ones and every role but
        ``postgres`` dropped, ``database`` made again. One cluster serves a whole test run;
        each test that asks for it starts from this."""
        if not self.running():
            self.start()
        sql = (
            "SELECT 'DROP DATABASE \"' || datname || '\" WITH (FORCE);' FROM pg_database "
            "WHERE datname NOT IN ('postgres', 'template0', 'template1') "
            "UNION ALL SELECT 'DROP ROLE \"' || rolname || '\";' FROM pg_roles "
            "WHERE rolname <> 'postgres' AND rolname NOT LIKE 'pg\\_%'"
        )
        drops = self.command(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
            "-tAc", sql,
        )  # fmt: skip
        statements = [line for line in drops.splitlines() if line.strip()]
        statements.sort(key=lambda line: not line.startswith("DROP DATABASE"))  # roles last
        statements.append(f'CREATE DATABASE "{self.database}";')
        for statement in statements:
            self.command(
                "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", statement,
            )  # fmt: skip

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
