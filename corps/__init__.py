"""EJ Corps: the platform root, organizations, members and roles."""
