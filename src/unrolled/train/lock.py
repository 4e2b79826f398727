"""One writer per run directory: an advisory lock (``fcntl.flock``) on ``RUN_DIR/run.lock``, held
by `unrolled.train.fit` (and ``unrolled train`` around it) while it writes there.

The operating system releases a ``flock`` when its process ends, however it ends, so a lock
is never stale: the PID recorded in the file only names the holder in the error a second
writer gets (and says when that process is gone, e.g. on a network file system that does not
honour locks). Where ``fcntl`` does not exist (Windows) nothing is locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

LOCK = "run.lock"

#: Run directories this process holds (resolved path -> nesting depth): ``unrolled train``
#: takes the lock before writing the config, and `fit` inside it takes it again.
_held: dict[Path, int] = {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``run_dir``'s lock (creating the directory) for the ``with`` block.

    Raises:
        BlockingIOError: another process holds it; the message names the directory and the PID.
    """
    path = Path(run_dir)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"run_dir: expected a directory, got the file {str(path)!r}")
    path.mkdir(parents=True, exist_ok=True)
    key = path.resolve()
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            who = f"process {holder}" if holder.isdigit() else "another process"
            if holder.isdigit() and not _alive(int(holder)):
                who += " (which no longer runs: a file system that does not honour locks?)"
            raise BlockingIOError(
                f"run_dir: {str(path)!r} is being written by {who}; wait for it to end or "
                f"choose another directory (one writer per run directory)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # releases the lock


__all__ = ["LOCK", "run_lock"]
