"""Analysis of ensembles: probabilities of goals, binding goals, conflicts, sensitivity."""
