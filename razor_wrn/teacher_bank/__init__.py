"""The teacher-output bank: a distillation's frozen-teacher logits for every
training view, read or filled instead of running the teacher.

- :mod:`.bank`: ``TeacherBank``, the model side (``model.teacher_bank``):
  gathers a batch's logits into the teacher recorders, or computes and
  stores the missing ones.
- :mod:`.bank_file`: the folder format (header, memory-mapped logits).
- :mod:`.checks`: what a bank must match, from the distiller, the teacher
  and the train loader.
- :mod:`.hook`: ``TeacherBankHook``, which attaches the bank to the run.

``tools/build_teacher_bank.py`` writes a bank.
"""
from ..errors import TeacherBankError
from .bank import TeacherBank
from .bank_file import TeacherBankFile
from .checks import check_logit_only
from .hook import TeacherBankHook

__all__ = ['TeacherBank', 'TeacherBankError', 'TeacherBankFile',
           'TeacherBankHook', 'check_logit_only']
