"""Zoo inference: run-folder loading, sampling, mixing, interpolation and translation; never imports training."""
