"""PICO-style learned image codec (arXiv 2605.05148, sections 3-4), small enough to train on a CPU.

Importing this package imports torch; ``pico.codecs.learned`` imports it lazily so that
``pico.codecs`` stays cheap.
"""
