from .captured_train_loop import CapturedEpochBasedTrainLoop
from .step_graphs import StepGraphs
from .teacher_student_val_loop import TeacherStudentValLoop
from .tensor_val_loop import TensorBatchValidation, TensorValLoop

__all__ = [
    'CapturedEpochBasedTrainLoop', 'StepGraphs', 'TeacherStudentValLoop',
    'TensorBatchValidation', 'TensorValLoop'
]
