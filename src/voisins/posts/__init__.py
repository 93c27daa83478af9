"""Posts: requests (demandes) and offers (offres) of help between neighbours."""
