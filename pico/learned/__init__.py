"""PICO-style learned image codec (arXiv 2605.05148, sections 3-4), small enough to train on a CPU.

Its modules import torch; ``pico.codecs.learned`` imports them lazily so that ``pico.codecs``
stays cheap. Start at ``model.py`` (data flow) and ``docs/learned.md``.
"""
