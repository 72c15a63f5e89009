"""The three screen metrics as algorithm objects: hip drive, pelvic stability, gait symmetry."""

from processing.metrics.gait_symmetry import GaitSymmetry
from processing.metrics.hip_drive import HipDrive
from processing.metrics.pelvic_stability import PelvicStability

__all__ = ["GaitSymmetry", "HipDrive", "PelvicStability"]
