"""Trial rules as pure functions: no database, no clock, no environment."""
