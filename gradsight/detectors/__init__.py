"""One module per finding kind. Each is a pure function of a stored run (``RunView``)."""
