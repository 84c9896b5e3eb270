"""riskcohort.simulate stage."""
