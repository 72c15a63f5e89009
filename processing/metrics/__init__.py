"""The three screen metrics as algorithm objects: hip drive, pelvic stability, gait symmetry."""

from hipscope.processing.metrics.gait_symmetry import GaitSymmetry
from hipscope.processing.metrics.hip_drive import HipDrive
from hipscope.processing.metrics.pelvic_stability import PelvicStability

__all__ = ["GaitSymmetry", "HipDrive", "PelvicStability"]
