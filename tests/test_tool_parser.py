"""A mistyped option is one ERROR line naming the option meant."""
import pytest

from razor_wrn.apis import test as test_api
from razor_wrn.apis import train as train_api


@pytest.mark.parametrize('api, argv, meant', [
    (train_api, ['CONFIG', '--comple'], '--compile'),
    (train_api, ['CONFIG', '--work_dir=x'], '--work-dir'),
    (test_api, ['CONFIG', 'CKPT', '--out-itm', 'pred'], '--out-item'),
])
def test_a_mistyped_option_names_the_one_meant(api, argv, meant, capsys,
                                               monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    with pytest.raises(SystemExit) as exit_:
        api.parse_args(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('ERROR: ')
    assert f'(did you mean {meant}?)' in err and '--help' in err


def test_other_argument_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit):
        train_api.parse_args([])
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert 'the following arguments are required: config' in err
    assert 'did you mean' not in err
