"""A throwaway PostgreSQL server for the tests and `make bench`: `initdb` into a temporary
folder, `pg_ctl start` on 127.0.0.1 and a free port, stopped (and the folder removed) at the
end. One starter for both (tests/conftest.py and bench/engines.py import it from here), so a
fix to how the server is started reaches the figures and the tests alike.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (what
Debian's `postgresql` package creates) through `runuser`. Durability is switched off
(`fsync`, `full_page_writes`, `synchronous_commit`): nothing here must survive a power cut,
and a test's CREATE DATABASE costs a fraction of what it would.

The superuser has a password and TCP connections must give it (scram-sha-256), so the store
is exercised with a URL carrying a password, as in production.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_ENV = "MATCHDAY_TEST_POSTGRES"  # "required": a missing server fails the tests
BINDIR_ENV = "MATCHDAY_TEST_PG_BINDIR"  # this folder's server binaries, and no other
SERVER_USER = "postgres"  # the OS user that runs the server when we are root


class ServerUnavailable(Exception):
    """No PostgreSQL server binaries on this machine (the tests skip unless required; the
    bench reports SQLite only)."""


def required() -> bool:
    """Whether the environment forbids skipping the PostgreSQL tests (CI sets it)."""
    return os.environ.get(REQUIRED_ENV, "").strip().lower() == "required"


def find_bindir() -> Path:
    """The folder holding `initdb`, `pg_ctl` and `postgres`: MATCHDAY_TEST_PG_BINDIR if set,
    else pg_config's answer, Debian's versioned folders (newest first), then PATH."""
    candidates: list[Path] = []
    chosen = os.environ.get(BINDIR_ENV)
    if chosen:
        return _check([Path(chosen)], f"{BINDIR_ENV}={chosen}")
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            candidates.append(Path(found))
        except (OSError, subprocess.SubprocessError):
            pass
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: _version_key(Path(p).parent.name), reverse=True)
    candidates += [Path(p) for p in versioned]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    return _check(candidates, "pg_config, /usr/lib/postgresql/*/bin or PATH")


def _check(candidates: list[Path], where: str) -> Path:
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise ServerUnavailable(
        f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via {where}; "
        "install Debian's `postgresql` package"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """One running server; `url(db)` is a connection URL for database `db` on it."""

    bindir: Path
    root: Path  # the temporary folder: data directory and log
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    user: str = "postgres"  # the database superuser
    # `-c name=value` settings over the defaults below (the bench gives PostgreSQL's own
    # 128MB of shared buffers; the tests keep 32MB, as they run a server per worker)
    settings: dict[str, str] = field(default_factory=dict)
    _as_user: list[str] = field(default_factory=list)
    _running: bool = False

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@127.0.0.1:{self.port}/{database}"

    def _run(self, args: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [*self._as_user, *args], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-3000:] if self.logfile.exists() else ""
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
                f"\n--- server log ---\n{log}"
            )
        return done

    def start(self) -> None:
        """initdb (once) and start on a free port, retrying if another worker took it."""
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise RuntimeError(
                    f"running as root, and there is no `{SERVER_USER}` user to run PostgreSQL "
                    "as (Debian's postgresql package creates it)"
                ) from None
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root, and `runuser` is missing")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", SERVER_USER, "--"]
        else:
            self._as_user = []
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_user:
            owner = pwd.getpwnam(SERVER_USER)
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        try:
            self._run([
                str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", self.user,
                f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=peer",
                "-E", "UTF8", "--locale=C", "--no-sync",
            ])  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        last: Exception | None = None
        for _ in range(5):
            self.port = _free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
                "-c max_connections=200 -c shared_buffers=32MB"
            ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
            try:
                self._run([
                    str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile),
                    "-o", options, "-w", "-t", "60", "start",
                ])  # fmt: skip
            except RuntimeError as exc:  # most likely the port was taken meanwhile
                last = exc
                continue
            self._running = True
            atexit.register(self.stop)  # even if the session's teardown never runs
            return
        raise RuntimeError(f"PostgreSQL did not start: {last}")

    def stop(self) -> None:
        """Stop the server (fast: its data is thrown away) and delete its folder."""
        if self._running:
            self._running = False
            try:
                self._run([
                    str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
                    "-w", "-t", "60", "stop",
                ])  # fmt: skip
            except (RuntimeError, subprocess.SubprocessError):
                pass  # already gone
        shutil.rmtree(self.root, ignore_errors=True)


def start_server(settings: dict[str, str] | None = None) -> PostgresServer:
    """A started server in a fresh temporary folder; ServerUnavailable without binaries."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="matchday-pg-"))
    server = PostgresServer(bindir, root, settings=dict(settings or {}))
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
