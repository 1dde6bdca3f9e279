"""What ``tools/analysis_tools/benchmark.py`` measures: the benchmark train
loop (``benchmark_loop``) and the hand-written steps it compares the Runner
with (``hand_steps``). Importing ``benchmark_loop`` registers
``BenchmarkLoop``; nothing here is imported by ``import razor_wrn``."""
