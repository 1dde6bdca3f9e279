from .captured_train_loop import CapturedEpochBasedTrainLoop
from .step_graphs import StepGraphs
from .teacher_student_val_loop import TeacherStudentValLoop

__all__ = [
    'CapturedEpochBasedTrainLoop', 'StepGraphs', 'TeacherStudentValLoop'
]
