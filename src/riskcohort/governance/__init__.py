"""riskcohort.governance stage."""
