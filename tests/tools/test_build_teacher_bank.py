"""tools/build_teacher_bank.py parses --cfg-options as the other tools do:
spaces and quoted commas stay in a value (mmengine's DictAction drops the
one and splits the other). Building a bank is tested in
tests/teacher_bank/."""
from conftest import load_tool


def test_cfg_options_keep_spaces_and_quoted_commas():
    build = load_tool('build_teacher_bank.py')
    args = build.parse_args([
        'configs/kd/wrn40-2_to_wrn16-2.py', '--out', 'bank',
        '--cfg-options', 'train_dataloader.dataset.data_root=my data/cifar',
        "model.teacher_ckpt='a,b.pth'", 'train_cfg.max_epochs=2'])
    assert args.cfg_options == {
        'train_dataloader.dataset.data_root': 'my data/cifar',
        'model.teacher_ckpt': 'a,b.pth', 'train_cfg.max_epochs': 2}
