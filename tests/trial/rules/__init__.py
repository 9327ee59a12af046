"""Pure rule tests: no database."""
