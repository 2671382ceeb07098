"""pico: reconstructions of reference images by every compared codec at matched bitrates.

No Django import here: the package runs on its own from the command line
(``python -m pico``) and inside the site.
"""
