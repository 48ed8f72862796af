"""TF1 graph scripts (``tf.Session``): the watcher, the graph reading (``graph.py``);
``phrasebook.py`` (advice as TF1 graph code) imports no TensorFlow."""
