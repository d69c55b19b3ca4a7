"""What the command line does, as library functions.

Each task reads data and models through the library, reports progress to an optional bar
(anything with ``set_total(n, label=None)`` and ``update(n, **figures)``) and returns plain results; the
command line (:mod:`widecross.cli`) only parses, calls them and prints.

- :mod:`.data`: feature specs from files or options (and fitted to the training rows), targets and labels checked with the file and row;
- :mod:`.training`: estimators from options, training on files (in memory or streamed), the
  regularization path;
- :mod:`.scoring`: evaluating, predicting to a file, recording the keys of hashed columns;
- :mod:`.summary`: what a model file holds;
- :mod:`.weight_map`: a model's weights drawn on the globe or a region;
- :mod:`.demo`: generated data (``data_gen``, when installed) and the end-to-end demo.
"""
