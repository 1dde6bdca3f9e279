"""``write_synthetic_cifar``: the official file layouts, and class signal
that a nearest-mean classifier reads perfectly."""
import pickle
from pathlib import Path

import numpy as np
import pytest

from razor_wrn.datasets.synthetic_cifar import main, write_synthetic_cifar


@pytest.mark.parametrize('num_classes,folder,files', [
    (10, 'cifar-10-batches-py', ['batches.meta'] +
     [f'data_batch_{k}' for k in range(1, 6)] + ['test_batch']),
    (100, 'cifar-100-python', ['meta', 'test', 'train']),
])
def test_official_layout(tmp_path: Path, num_classes: int, folder: str,
                         files: list) -> None:
    written = write_synthetic_cifar(str(tmp_path), num_classes, 1, 1)
    assert written == tmp_path / folder
    assert sorted(p.name for p in written.iterdir()) == files


@pytest.mark.parametrize('num_classes,label_key,test_file', [
    (10, 'labels', 'test_batch'), (100, 'fine_labels', 'test')])
def test_signal_separates_every_class(tmp_path: Path, num_classes: int,
                                      label_key: str, test_file: str) -> None:
    folder = write_synthetic_cifar(str(tmp_path), num_classes, 1, 2,
                                   signal=True, seed=1)
    with open(folder / test_file, 'rb') as f:
        test = pickle.load(f)
    colours = test['data'].reshape(-1, 3, 1024).mean(axis=2)  # (N, 3)
    labels = np.array(test[label_key])
    means = np.stack([colours[labels == c].mean(0)
                      for c in range(num_classes)])
    nearest = np.abs(colours[:, None] - means[None]).sum(-1).argmin(1)
    assert (nearest == labels).all()
    assert len(np.unique(means.round(-1), axis=0)) == num_classes


def test_other_class_counts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='num_classes must be 10 or 100'):
        write_synthetic_cifar(str(tmp_path), 20)


def test_command_line_writes_a_learnable_cifar10(tmp_path, capsys):
    # The README's first command: class colours (signal), not noise.
    main([str(tmp_path / 'cli'), '--per-class-train', '1',
          '--per-class-test', '1'])
    folder = tmp_path / 'cli' / 'cifar-10-batches-py'
    assert capsys.readouterr().out == f'Wrote {folder}\n'
    written = write_synthetic_cifar(str(tmp_path / 'api'), 10, 1, 1,
                                    signal=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in written.iterdir())
    for path in written.iterdir():
        assert (folder / path.name).read_bytes() == path.read_bytes()
