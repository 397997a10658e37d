"""W&B conventions: run names, groups and tags (:mod:`.naming`), input images as artifacts."""
