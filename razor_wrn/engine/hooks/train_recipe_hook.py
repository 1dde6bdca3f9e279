"""Say how a config's recipe runs, and check that it can."""
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from torch.nn.modules.batchnorm import _BatchNorm

from razor_wrn.engine.distributed.ddp import frozen_children
from razor_wrn.engine.train_recipe import recipe_line
from razor_wrn.models.norm import GhostBatchNorm


@HOOKS.register_module()
class TrainRecipeHook(Hook):
    """Log the recipe in one line before training and check that every
    trained BatchNorm layer normalises the recipe's groups.

    ``razor_wrn.engine.train_recipe.apply_train_recipe`` adds it for a
    config that declares ``recipe_world_size``. A BN layer built outside a
    ``norm_cfg`` (so not turned into ``GhostBN``) would take its statistics
    over all of a process's groups and silently change the recipe: the run
    stops instead, naming it.

    Args:
        recipe_world_size (int): Ranks ``R`` of the recipe.
        batch_size (int): Images per rank and step ``B``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, recipe_world_size: int, batch_size: int) -> None:
        self.recipe_world_size = recipe_world_size
        self.batch_size = batch_size

    def before_train(self, runner) -> None:
        """Raises:
            RuntimeError: If a trained BN layer is not a ``GhostBN`` of
                ``R / world_size`` groups.
        """
        world_size = get_world_size()
        groups = self.recipe_world_size // world_size
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        frozen = set(frozen_children(model))
        wrong = [
            name for name, layer in model.named_modules()
            if isinstance(layer, _BatchNorm)
            and name.split('.')[0] not in frozen and groups > 1
            and not (isinstance(layer, GhostBatchNorm)
                     and layer.num_groups == groups)
        ]
        if wrong:
            raise RuntimeError(
                f'{len(wrong)} trained BatchNorm layer(s) ({wrong[0]}, ...) '
                f'do not normalise the recipe\'s {groups} groups per '
                f'process: build them from a norm_cfg (it becomes GhostBN '
                f'with num_groups={groups}), or run on '
                f'{self.recipe_world_size} processes.')
        runner.logger.info(recipe_line(self.recipe_world_size,
                                       self.batch_size, world_size))
