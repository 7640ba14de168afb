"""Users of the corps and their roles."""
