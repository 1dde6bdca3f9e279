"""``--resume``: which checkpoint a run continues from, and what of it is
restored.

- :mod:`.choice`: the checkpoint ``--resume`` takes (the one given, or the
  work dir's newest, falling back past a damaged one), read once by the
  Runner; the name of the work dir's pointer file, spelled only here.
- :mod:`.hook`: ``ResumeHook``, which checks the weights, drops run state
  that names another run's files and re-derives the schedule.
- :mod:`.schedule`: the current config's schedule at the resumed epoch.
"""
from .choice import POINTER, pointer_path, resume_checkpoint
from .hook import ResumeHook
from .schedule import schedule_from_config

__all__ = ['POINTER', 'ResumeHook', 'pointer_path', 'resume_checkpoint',
           'schedule_from_config']
