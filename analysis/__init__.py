"""analysis: Bayesian Elo from pairwise judgments, rate–Elo curves and BD-rate savings.

No Django import here: usable from the command line (``python -m analysis``), notebooks
and the site.
"""
