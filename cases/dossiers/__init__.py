"""Dossiers: export jobs, renderers and offline verification."""
