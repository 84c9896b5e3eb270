"""riskcohort.features stage."""
