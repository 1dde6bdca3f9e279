"""Checkpoints named by an http(s) URL: downloaded once into torch's hub
cache (a folder per URL, under a file lock shared by every process), and
checked against the sha256 prefix in their file name.
"""
import hashlib
import os
import os.path as osp
import re
import tempfile
from contextlib import contextmanager
from typing import Iterator, Optional
from urllib.parse import urlparse

from ..errors import CheckpointError

try:
    import fcntl
except ImportError:  # Windows: no lock; each process's own temporary file
    fcntl = None     # still keeps concurrent downloads from colliding.


# The URL schemes load_checkpoint_file downloads; any other name is a path.
URL_SCHEMES = ('http://', 'https://')


# torch.hub's convention: a file name ending in `-<first hex digits of its
# sha256>.<ext>`, as in OpenMMLab's model zoo (8 digits). At least 8 are
# required so that names like `wrn-40.pth` are not taken for a hash.
HASH_SUFFIX = re.compile(r'-([a-f0-9]{8,64})\.[^.]+$')


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def cache_path(url: str) -> str:
    """Where :func:`download_checkpoint` keeps ``url``: torch's hub cache,
    in a folder named by a hash of the whole URL, so two URLs ending in the
    same file name never share a cached file."""
    from torch.hub import get_dir
    key = hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]
    return osp.join(get_dir(), 'checkpoints', key,
                    osp.basename(urlparse(url).path))


@contextmanager
def _cache_lock(cached: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<cached>.lock`` (``flock``; nothing where
    the platform has none), so that of several processes fetching the same
    URL into a shared cache one downloads and the others wait for it. In
    a cache this process cannot write to (a shared read-only copy), no lock
    is taken: nothing is written there."""
    try:
        lock = open(cached + '.lock', 'a')
    except OSError:
        lock = None
    if fcntl is None or lock is None:
        yield
        return
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _hash_mismatch(url: str, path: str) -> Optional[str]:
    """The sha256 of ``path`` when the URL's file name carries a prefix of
    its hash (``name-<hash>.pth``) that it does not start with, else
    None."""
    expected = HASH_SUFFIX.search(osp.basename(urlparse(url).path))
    if not expected:
        return None
    actual = file_sha256(path)
    return None if actual.startswith(expected.group(1)) else actual


def download_checkpoint(url: str) -> str:
    """Download ``url`` once into torch's hub cache; return the local path.

    Every process of a run (and every run sharing the cache) may call this
    at once: the first to take the cache's file lock downloads, into a
    temporary file of its own, checks it and renames it into place; the
    others wait for the lock and find the file. A cached file is checked
    against the sha256 prefix in its name (``name-<hash>.pth``) each time
    it is used; a corrupt one is downloaded again.

    Raises:
        CheckpointError: the download failed, does not match its hash, or
            cannot be written into the cache.
    """
    from torch.hub import download_url_to_file
    cached = cache_path(url)
    try:
        os.makedirs(osp.dirname(cached), exist_ok=True)
    except OSError:
        pass  # a read-only cache may hold the file; else mkstemp says why
    with _cache_lock(cached):
        if osp.exists(cached) and _hash_mismatch(url, cached) is None:
            return cached
        try:
            fd, partial = tempfile.mkstemp(dir=osp.dirname(cached),
                                           prefix=osp.basename(cached) + '.',
                                           suffix='.partial')
        except OSError as error:
            raise CheckpointError(
                f'Cannot download {url} into the torch hub cache '
                f'{osp.dirname(cached)} ({error.strerror or error}): set '
                'TORCH_HOME to a folder you can write to, or download the '
                'file yourself and pass its local path instead.') from error
        os.close(fd)
        try:
            try:
                download_url_to_file(url, partial, progress=False)
            except Exception as error:
                raise CheckpointError(
                    f'Could not download checkpoint {url}: {error}. Check '
                    'the URL and your network, or download the file '
                    'yourself and pass its local path instead.') from error
            actual = _hash_mismatch(url, partial)
            if actual:
                raise CheckpointError(
                    f'The file downloaded from {url} has sha256 '
                    f'{actual[:16]}..., but its name says it starts with '
                    f'{HASH_SUFFIX.search(cached).group(1)}: the download is '
                    'corrupt or the URL is wrong. Try again, or check the '
                    'URL.')
            os.replace(partial, cached)
        finally:
            if osp.exists(partial):
                os.remove(partial)
    return cached
