"""Page routes, one module per audience."""
