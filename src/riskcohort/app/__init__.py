"""riskcohort.app stage."""
