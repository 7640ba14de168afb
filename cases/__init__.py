"""Case records and everything attached to them."""
