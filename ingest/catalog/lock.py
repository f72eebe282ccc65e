"""The root's one lock: every command that writes takes it here, with one waiting rule, naming its holder.

An advisory `flock` on `<root>/.ingest.lock`: the kernel frees it when the holding process ends, however it
ends, so a lock left by a crash never blocks anyone. The file holds the holder's command and process id for
the message a waiting command prints; it is opened without truncation so a waiter never erases it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import LockedError

# One waiting rule for every writer: a review or a render holds the lock for about a second, so a few seconds
# of waiting lets two short commands run one after the other; a run holds it for minutes, and waiting for that
# silently would look like a hang, so the second command stops with the holder's name instead.
LOCK_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.1


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0] if text else ""


def _locked_error(path: Path, holder: str) -> LockedError:
    who = f" ({holder})" if holder else ""
    pid = holder.rsplit("pid ", 1)[-1] if "pid " in holder else None
    stale = (
        f"if process {pid} is no longer running, the lock is stale (a network file system): delete {path}"
        if pid
        else f"if no ingest process is running, delete {path}"
    )
    return LockedError(
        f"another ingest process{who} holds the lock {path}",
        hint=f"wait for it to finish and retry; {stale}",
    )


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _write_holder(fd: int, command: str, path: Path) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{command} pid {os.getpid()}\n".encode(), 0)
    except OSError as exc:  # a full disk: name the file, as every other write does
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


@contextmanager
def root_lock(path: Path, command: str, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the lock at `path` (the root's `lock_path`) for `command`; LockedError (exit 2) naming the holder
    when another process keeps it longer than the waiting rule. Re-entrant within one process is not needed:
    each command takes it once, at its top."""
    fd = _open(path)
    try:
        deadline = time.monotonic() + wait
        while not _try(fd):
            if time.monotonic() >= deadline:
                raise _locked_error(path, _holder(fd))
            time.sleep(_POLL_SECONDS)
        _write_holder(fd, command, path)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def lock_if_free(path: Path, command: str) -> Iterator[bool]:
    """For a reader that may tidy up on the way (finishing an interrupted review): the lock when it is free at
    once, else nothing; yields whether it holds it. A reader never waits for a writer."""
    fd = _open(path)
    try:
        held = _try(fd)
        if held:
            _write_holder(fd, command, path)
        try:
            yield held
        finally:
            if held:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

