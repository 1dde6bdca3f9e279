"""Library code of ``tools/analysis_tools``: the training throughput
benchmark (Runner iteration vs hand-written limit)."""
from .benchmark import run_benchmark
from .measure import Figure
from .options import BenchmarkOptions
from .report import BenchmarkResult, format_result

__all__ = [
    'BenchmarkOptions', 'BenchmarkResult', 'Figure', 'format_result',
    'run_benchmark'
]
