"""Framework adapters. Each is imported lazily, only once its framework is in use."""
