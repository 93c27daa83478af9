"""voisins — neighbourhood mutual-aid matching for French centres sociaux."""

__version__ = "0.1.0"
