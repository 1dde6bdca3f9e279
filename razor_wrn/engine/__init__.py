"""Training machinery; importing this registers it in mmengine's registries
(hooks, loops, the Runner)."""
from . import hooks, loops, runner  # noqa: F401
