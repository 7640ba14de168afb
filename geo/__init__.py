"""Pure spatial blocks that know nothing of cases: geometry, privacy cells, clustering, formats."""
