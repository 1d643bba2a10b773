"""Things placed in the 3D world: labelled objects and unlabelled distractors."""
