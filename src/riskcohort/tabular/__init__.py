"""riskcohort.tabular stage."""
