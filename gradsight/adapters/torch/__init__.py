"""PyTorch: the watcher (``watcher.py``) and what it is built from; ``phrasebook.py`` (advice
as PyTorch code) imports no torch."""
