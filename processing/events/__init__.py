"""Events: gait contacts, single-leg-stance holds, repetition segmentation."""
