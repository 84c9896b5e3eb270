"""riskcohort.modelling stage."""
