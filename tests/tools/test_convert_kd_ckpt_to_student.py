import errno
import os

import pytest
import torch

from conftest import run_tool
from razor_wrn.cli import UserError


def test_prefix_is_stripped_only_at_the_front(tools):
    t = torch.zeros(1)
    converted = tools['convert'].student_state_dict({
        'architecture.backbone.conv1.weight': t,
        # 'architecture.' inside a key is part of the name and stays.
        'architecture.head.architecture.fc': t,
        'teacher.architecture.backbone.conv1.weight': t,
        'distiller.connectors.hint.conv.weight': t,
    })
    assert list(converted) == ['backbone.conv1.weight',
                               'head.architecture.fc']


def test_convert_writes_student_only_and_keeps_meta(tools, tmp_path):
    kd = tmp_path / 'kd.pth'
    torch.save({'meta': {'epoch': 7, 'cfg': 'kd config text'},
                'state_dict': {'architecture.w': torch.ones(2),
                               'teacher.w': torch.zeros(2)}}, kd)
    out = tmp_path / 'out' / 'student.pth'
    tools['convert'].main([str(kd), str(out)])
    saved = torch.load(out, weights_only=True)
    assert list(saved['state_dict']) == ['w']
    assert torch.equal(saved['state_dict']['w'], torch.ones(2))
    assert saved['meta']['epoch'] == 7 and 'cfg' not in saved['meta']
    with pytest.raises(UserError, match='--force'):
        tools['convert'].main([str(kd), str(out)])
    tools['convert'].main([str(kd), str(out), '--force'])


def test_plain_checkpoint_is_refused(tools, tmp_path):
    plain = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'backbone.w': torch.ones(1)}}, plain)
    with pytest.raises(UserError, match='not a distillation checkpoint'):
        tools['convert'].main([str(plain), str(tmp_path / 'x.pth')])


def test_a_failed_write_keeps_the_file_already_there(tools, tmp_path,
                                                     monkeypatch, capsys):
    # Before, torch.save truncated OUT first: with --force on a full disk
    # the student converted earlier was lost.
    kd = tmp_path / 'kd.pth'
    torch.save({'state_dict': {'architecture.w': torch.ones(2)}}, kd)
    out = tmp_path / 'student.pth'
    out.write_bytes(b'converted before')

    def full_disk(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full_disk)
    code, (_, err) = run_tool(tools['convert'], [str(kd), str(out),
                                                 '--force'], capsys)
    assert code == 1 and 'No space left on device' in err
    assert 'a file already there is unchanged' in err
    assert out.read_bytes() == b'converted before'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['kd.pth',
                                                          'student.pth']
