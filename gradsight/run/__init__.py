"""The lifecycle of one watched run: a script as ``__main__`` (``runner``), or one model
(``watch``); the ``session`` (store + recorder + adapters) behind both; the table of how each
framework attaches (``frameworks``); worker processes (``workers``, ``bootstrap/``)."""
