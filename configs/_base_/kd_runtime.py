# Shared by the distillation configs: mmrazor's registries by default (the
# data and model parts carry `_scope_='mmpretrain'`), validation of the
# student with the frozen teacher's metrics beside it, and a teacher check
# before the first iteration
# (disable: --cfg-options default_hooks.teacher_eval=None). The schedule
# comes with each config (the data set's recipe).
_base_ = ['./default_runtime.py']
default_scope = 'mmrazor'
val_cfg = dict(type='TeacherStudentValLoop')
# teacher_bank: checks and opens model.teacher_bank when one is set.
default_hooks = dict(
    teacher_eval=dict(type='TeacherEvalHook'),
    teacher_bank=dict(type='TeacherBankHook'))
