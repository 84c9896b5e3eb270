"""riskcohort.explain stage."""
