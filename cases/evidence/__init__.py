"""Evidence: streaming upload, hashing, content-addressed storage, type sniffing, custody."""
