"""``gradsight fix``: try repairs through the hooks, measure each, recommend the best."""
