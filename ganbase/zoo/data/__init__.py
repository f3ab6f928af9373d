"""Zoo data: image folders, labeled, paired, unpaired and multi-domain data, and the built-in offline datasets."""
