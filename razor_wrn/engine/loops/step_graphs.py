"""A training step recorded once as a CUDA graph and replayed every iteration.

Eager PyTorch spends host time on every operation it launches (a WRN-16-2
training step launches several hundred), on the Python of mmengine's and
mmrazor's model code, and on one data object per image. A CUDA graph records
the kernels of one step and replays them with a single launch, so none of
that is paid again. This is PyTorch's whole-network capture
(``torch.cuda.graph``): forward, backward and ``optimizer.step()`` together,
on static input buffers that each iteration overwrites.

A graph bakes in everything the Python of the step read when it was
recorded: tensor shapes, the learning rate and other Python numbers.
:class:`StepGraphs` therefore keeps one graph per *key* — the batch size plus
whatever Python numbers the caller names (learning rates, loss weights) —
and records a new one when the key changes: the last, smaller batch of an
epoch gets its own graph (no image is dropped), and a learning-rate
milestone or a loss-weight warm-up records again. Before a key is recorded,
its first ``warmup`` steps run eagerly on a side stream (PyTorch's recipe:
lazy initialisation such as the optimizer's momentum buffers and cuDNN's
algorithm search must not happen during capture). Every step, eager or
replayed, is a real training step: nothing is run twice.

The recorded code must not synchronise with the host (no ``.item()``, no
tensor in a Python ``if``) nor draw numbers on the host; the training loop
decides which models qualify (:mod:`.captured_train_loop`).
"""
from typing import Callable, Dict, Hashable, Optional, Tuple

import torch

# One training step on (uint8 images (B, C, H, W), int64 labels (B,)),
# returning the scalar loss tensors to log.
StepFn = Callable[[torch.Tensor, torch.Tensor], Dict[str, torch.Tensor]]


class RecordingError(RuntimeError):
    """Recording a step as a CUDA graph failed; the batch was not trained
    and no parameter, buffer or optimizer state changed."""


class _Recorded:
    """One recorded graph with its static inputs and outputs."""

    def __init__(self, graph: Optional['torch.cuda.CUDAGraph'],
                 inputs: torch.Tensor, labels: torch.Tensor,
                 outputs: Dict[str, torch.Tensor]) -> None:
        self.graph = graph
        self.inputs = inputs
        self.labels = labels
        self.outputs = outputs


class StepGraphs:
    """Run a training step eagerly ``warmup`` times per key, then record it
    and replay the recording.

    Args:
        step (StepFn): The training step. It must read its inputs only from
            the two tensors it is given and leave every result in tensors
            (parameters, buffers, optimizer state, the returned losses).
        warmup (int): Eager steps of a key before it is recorded (>= 1: the
            first step creates the optimizer's state).
        emulate (bool): Record nothing and call ``step`` on the static
            buffers instead of replaying, so the bookkeeping can be checked
            without a GPU.

    Raises:
        ValueError: ``warmup`` is below 1.
    """

    def __init__(self, step: StepFn, warmup: int = 3,
                 emulate: bool = False) -> None:
        if warmup < 1:
            raise ValueError(f'warmup must be >= 1, got {warmup}.')
        self.step = step
        self.warmup = warmup
        self.emulate = emulate
        self.graphs: Dict[Hashable, _Recorded] = {}
        self.eager_steps: Dict[Hashable, int] = {}
        self.recordings = 0
        self._side_stream: Optional['torch.cuda.Stream'] = None

    def __call__(self, inputs: torch.Tensor, labels: torch.Tensor,
                 key: Tuple) -> Dict[str, torch.Tensor]:
        """One training step on this batch.

        Args:
            inputs (torch.Tensor): uint8 images ``(B, C, H, W)``.
            labels (torch.Tensor): int64 class indices ``(B,)``.
            key (tuple): The Python numbers the step reads (e.g. learning
                rates); the batch size is added here. A key seen for the
                first time drops the recordings of every other key with the
                same batch size (an old learning rate is never used again).

        Returns:
            dict[str, torch.Tensor]: The step's losses, in fresh tensors (a
            replay overwrites its static outputs, so they are copied out).

        Raises:
            RecordingError: CUDA refused to record the step (e.g. it read
                the GPU from the host). The batch was not trained; the
                gradients the step created are left to the caller to drop.
        """
        key = (tuple(inputs.shape), ) + tuple(key)
        recorded = self.graphs.get(key)
        if recorded is not None:
            recorded.inputs.copy_(inputs)
            recorded.labels.copy_(labels)
            if self.emulate:
                outputs = self.step(recorded.inputs, recorded.labels)
            else:
                recorded.graph.replay()
                outputs = recorded.outputs
            return _copy_out(outputs)
        if key not in self.eager_steps:
            for old in [k for k in self.graphs if k[0] == key[0]]:
                del self.graphs[old]
        done = self.eager_steps.get(key, 0)
        if done < self.warmup:
            self.eager_steps[key] = done + 1
            return self._eager(inputs, labels)
        return self._record(inputs, labels, key)

    def _eager(self, inputs: torch.Tensor,
               labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self.emulate or inputs.device.type != 'cuda':
            return self.step(inputs, labels)
        if self._side_stream is None:
            self._side_stream = torch.cuda.Stream(inputs.device)
        side = self._side_stream
        side.wait_stream(torch.cuda.current_stream(inputs.device))
        with torch.cuda.stream(side):
            outputs = self.step(inputs, labels)
        torch.cuda.current_stream(inputs.device).wait_stream(side)
        return outputs

    def _record(self, inputs: torch.Tensor, labels: torch.Tensor,
                key: Tuple) -> Dict[str, torch.Tensor]:
        static_inputs = inputs.clone()
        static_labels = labels.clone()
        graph = None
        if self.emulate:
            outputs = self.step(static_inputs, static_labels)
        else:
            graph = torch.cuda.CUDAGraph()
            # Recording launches nothing: the step of this batch runs in
            # the replay below.
            # thread_local: a CUDA call of another thread (a pin-memory
            # thread, a logger) must not invalidate the recording.
            with torch.cuda.graph(graph, capture_error_mode='thread_local'):
                outputs = self.step(static_inputs, static_labels)
            graph.replay()
        self.graphs[key] = _Recorded(graph, static_inputs, static_labels,
                                     outputs)
        self.recordings += 1
        return _copy_out(outputs)


def _copy_out(outputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The scalar outputs as views of one new tensor (one copy kernel)."""
    if not outputs:
        return {}
    values = torch.stack([value.detach().reshape(()).float()
                          for value in outputs.values()])
    return dict(zip(outputs, values.unbind()))
