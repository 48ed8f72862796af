"""Framework-agnostic core: records -> store -> detectors -> findings (numpy + stdlib only)."""
