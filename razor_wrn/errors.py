"""The errors razor_wrn reports to the user as one line, without a traceback.

The ground floor of the package: it imports nothing from razor_wrn, so any
module (the command line, the models, the data sets, the hooks) can raise
these without importing another module's machinery, and without an import
cycle. ``razor_wrn.cli.run_cli`` turns each of :data:`USER_ERRORS` into
``ERROR: <message>`` and exit code 1.
"""


class UserError(RuntimeError):
    """Bad input from the user (config, paths, arguments)."""


class GhostGroupError(UserError, ValueError):
    """A training batch does not split into ghost BatchNorm groups that
    BatchNorm can normalise (a ``ValueError``, as torch's BatchNorm raises
    for a batch it cannot normalise)."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, unsafe, does not fit, or
    cannot be downloaded or written."""


class CIFARDataError(RuntimeError):
    """A CIFAR file is missing, unreadable or not a file of its data set.

    A ``RuntimeError`` so that code catching mmpretrain's own dataset errors
    keeps working.
    """


class DistributedSetupError(RuntimeError):
    """A multi-process run cannot start as configured on this machine."""


class TeacherBankError(UserError):
    """A teacher bank that cannot serve this run."""


class CRDTrainingSetError(UserError):
    """CRD's memory banks do not fit the run's training set."""


# Errors caused by input rather than by a bug (the two subclasses of
# UserError are caught as UserError).
USER_ERRORS = (UserError, CheckpointError, CIFARDataError,
               FloatingPointError, FileNotFoundError, SyntaxError,
               DistributedSetupError)
