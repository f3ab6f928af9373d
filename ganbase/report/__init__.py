"""Self-contained HTML pages and plots for run reports (no network, no external assets)."""
