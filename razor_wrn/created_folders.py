"""The folders a step is about to create, and their removal when it fails.

A step that creates a folder (``os.makedirs``) and then fails would leave it
behind, empty: a mistyped path stays as a folder that looks like a real
one. :func:`missing_folders`, called before the step, names the folders it
will create; :func:`remove_empty_folders`, after the step failed, removes
those of them that are empty. A folder that existed before, or that holds
anything (what the step wrote is the step's to remove first, what another
process wrote meanwhile is not removed), is kept.

Imports nothing from razor_wrn, so that any module can use it.
"""
import os
import os.path as osp
from typing import List, Sequence


def missing_folders(path: str) -> List[str]:
    """``path`` and those of its ancestors that do not exist yet.

    Args:
        path (str): A folder about to be created; relative to the current
            folder, or starting with ``~``.

    Returns:
        list[str]: Their absolute paths, outermost first; empty when
        ``path`` exists.
    """
    path = osp.abspath(osp.expanduser(path))
    missing = []
    # lexists: a dangling link is there, and makedirs would not replace it.
    while not osp.lexists(path):
        missing.append(path)
        parent = osp.dirname(path)
        if parent == path:
            break
        path = parent
    return missing[::-1]


def remove_empty_folders(folders: Sequence[str]) -> None:
    """Remove those of ``folders`` that are empty, innermost first, so that
    a folder emptied by removing its subfolder goes too.

    Args:
        folders (Sequence[str]): Absolute paths, as :func:`missing_folders`
            gives them (several of its lists may be joined).
    """
    # A folder's path is longer than its parent's.
    for folder in sorted(set(folders), key=len, reverse=True):
        try:
            os.rmdir(folder)
        except OSError:
            # Not empty, already gone, or not ours to remove: kept.
            pass
