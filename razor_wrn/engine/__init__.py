"""Training machinery; importing this registers it in mmengine's registries
(hooks, loops, the Runner, the DDP wrapper)."""
from . import distributed, hooks, loops, runner  # noqa: F401
