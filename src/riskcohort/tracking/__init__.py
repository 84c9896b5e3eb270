"""riskcohort.tracking stage."""
