"""Command groups of `corps`: one module each, imported in name order by `corps.cli`."""
