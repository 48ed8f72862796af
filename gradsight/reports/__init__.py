"""Renderings of a diagnosis. They render any finding generically and never branch on kind."""
