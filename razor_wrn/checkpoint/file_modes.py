"""The permission bits a new file gets: files written through a temporary
file (``mkstemp`` makes them 0600) get those ``open(path, 'w')`` would
give, so a shared work dir or cache stays readable as the umask intends.
"""
import os


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it
    (``os.umask`` can only be read by setting it, which races with threads
    creating files)."""
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: str) -> int:
    """The permission bits ``open(path, 'w')`` would leave ``path`` with:
    its current ones if it exists, else 0666 less the umask. Files written
    through a temporary file (``mkstemp`` makes them 0600) get these, so a
    shared work dir or cache stays readable as the umask intends."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()
