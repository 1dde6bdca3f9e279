"""Training machinery; importing this registers it in mmengine's registries
(hooks, loops, optimizer wrappers, the Runner, the DDP wrapper)."""
from . import distributed, hooks, loops, optim_wrappers, runner  # noqa: F401
