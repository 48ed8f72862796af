"""Keras 3 on TensorFlow: the watcher (``watcher.py``, in-graph statistics) and its layer outputs
(``outputs.py``); ``phrasebook.py`` (advice as Keras code) imports no TensorFlow."""
