"""Preloaded by the forkserver that ``tools/reproduce.py --jobs`` starts its
runs from, in the tests only: every run then skips yapf when mmengine
prints its config (as conftest's ``_unformatted_config_text`` does in the
test processes; about 2 s of CPU per Runner) and leaves the imported
modules out of garbage collection (as conftest's
``pytest_collection_finish``)."""
import gc

import mmengine.config.config as mmengine_config

import razor_wrn  # noqa: F401  (what the forkserver preloads anyway)

mmengine_config.FormatCode = lambda text, **kwargs: (text, False)
gc.freeze()
