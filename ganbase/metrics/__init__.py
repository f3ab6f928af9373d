"""Offline, seeded image-quality metrics: patch SWD, diversity, patch nearest neighbours, memorization, feature metrics and Inception scores from local weights only."""
