"""riskcohort.contract stage."""
