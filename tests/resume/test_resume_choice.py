"""The checkpoint --resume takes is checked without reading its tensors (the
Runner reads it in full, once), and the hook takes the run's resume
settings from its config."""
from types import SimpleNamespace

import torch
from mmengine.config import Config

from razor_wrn.resume import POINTER, resume_checkpoint
from razor_wrn.resume.hook import resume_settings


def test_candidates_are_checked_by_their_structure_only(tmp_path,
                                                        monkeypatch):
    older, newest = tmp_path / 'epoch_1.pth', tmp_path / 'epoch_2.pth'
    for epoch, path in enumerate((older, newest), 1):
        torch.save({'meta': {'epoch': epoch},
                    'state_dict': {'w': torch.zeros(4)}}, path)
    newest.write_bytes(newest.read_bytes()[:200])  # damaged
    (tmp_path / POINTER).write_text(str(newest))
    loads = []
    load = torch.load

    def recording_load(*args, **kwargs):
        loads.append(kwargs.get('mmap'))
        return load(*args, **kwargs)

    monkeypatch.setattr(torch, 'load', recording_load)
    assert resume_checkpoint(str(tmp_path), None) == str(older)
    # The damaged one is not a zip file: it is read (and refused) in full.
    assert loads == [False, True]


def test_resume_settings_come_from_the_config():
    runner = SimpleNamespace(
        cfg=Config(dict(resume=True, load_from='a.pth')), _resume=False,
        _load_from=None)
    assert resume_settings(runner) == (True, 'a.pth')
    runner.cfg = Config(dict(load_from='b.pth'))
    assert resume_settings(runner) == (False, 'b.pth')
    # A Runner built from keyword arguments keeps them only privately.
    runner = SimpleNamespace(cfg=Config(), _resume=True, _load_from='c.pth')
    assert resume_settings(runner) == (True, 'c.pth')


def test_resume_is_taken_as_given(tmp_path):
    torch.save({'meta': {'epoch': 1}}, tmp_path / 'epoch_1.pth')
    (tmp_path / POINTER).write_text(str(tmp_path / 'epoch_1.pth'))
    # --resume without a value, and with a URL (the Runner downloads it).
    assert resume_checkpoint(str(tmp_path), 'auto') == str(
        tmp_path / 'epoch_1.pth')
    url = 'https://example.com/epoch_1.pth'
    assert resume_checkpoint(str(tmp_path), url) == url
