"""What the command-line tools run, importable by name: ``train``
(tools/train.py), ``test`` (tools/test.py), ``flops``
(tools/analysis_tools/get_flops.py) and ``curves``
(tools/analysis_tools/plot_curves.py). A tool is a thin script around one
of these, so another tool (tools/reproduce.py) imports what it calls
instead of loading a script. Nothing here is imported by
``import razor_wrn``."""
