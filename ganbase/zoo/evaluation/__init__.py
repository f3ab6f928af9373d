"""Zoo evaluation: sample-quality metrics against the training data, held-out paired scores, fcd_local and the HTML report (inference only)."""
