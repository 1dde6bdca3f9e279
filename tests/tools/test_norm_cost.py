"""``tools/analysis_tools/norm_cost.py``: both networks are the same WRN but
for the norm, the ghost one has the asked-for groups, and the printed ratio
is the quotient of the printed medians. No timing is asserted."""
import pytest
import torch

from conftest import load_tool
from razor_wrn.analysis.norm_cost import backbone
from razor_wrn.cli import UserError
from razor_wrn.models.norm import GhostBatchNorm


@pytest.fixture(scope='module')
def tool():
    return load_tool('analysis_tools/norm_cost.py')


def test_ghost_and_plain_networks_differ_only_in_the_norm():
    cpu = torch.device('cpu')
    plain = backbone(10, 1, dict(type='BN'), cpu, channels_last=True)
    ghost = backbone(10, 1, dict(type='GhostBN', num_groups=4), cpu,
                     channels_last=True)
    norms = [m for m in ghost.modules() if isinstance(m, GhostBatchNorm)]
    # WRN-10: 3 blocks of 2 BN, and the final one.
    assert len(norms) == 7 and {m.num_groups for m in norms} == {4}
    assert not any(isinstance(m, GhostBatchNorm) for m in plain.modules())
    assert plain.training and ghost.training
    # Same seeded weights, in the channels-last layout asked for.
    for (name, a), (_, b) in zip(plain.state_dict().items(),
                                 ghost.state_dict().items()):
        assert torch.equal(a, b), name
    conv = next(p for p in ghost.parameters() if p.dim() == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)


def test_the_ratio_is_the_quotient_of_the_medians(tool, capsys):
    cost = tool.main(['--depth', '10', '--widen-factor', '1',
                      '--batch-size', '8', '--groups', '4', '--image-size',
                      '8', '--iters', '1', '--repeats', '3', '--threads',
                      '1', '--channels-last'])
    assert [len(cost.ms[name]) for name in ('BN', 'GhostBN')] == [3, 3]
    assert all(value > 0 for values in cost.ms.values() for value in values)
    assert cost.ratio == cost.median('GhostBN') / cost.median('BN')
    printed = capsys.readouterr().out
    assert 'ghost BatchNorm, 4 groups of 2' in printed
    assert f'ghost / plain step time {cost.ratio:.3f}' in printed


@pytest.mark.parametrize('argv, message', [
    (['--batch-size', '6', '--groups', '4'], 'does not split into'),
    (['--depth', '12'], 'must be 6n\\+4'),
    (['--iters', '0'], 'must be >= 1'),
    (['--depth', '10', '--widen-factor', '1', '--batch-size', '8',
      '--image-size', '1'], 'fewer --groups'),
    (['--threads', '0'], '--threads must be >= 1')])
def test_bad_options_are_user_errors(tool, argv, message):
    with pytest.raises(UserError, match=message):
        tool.main(argv)
