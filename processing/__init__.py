"""Recordings -> orientations -> angles -> events -> metrics -> reports.

Orientation and angles (this layer's foundation):

- ``hipscope.processing.fusion``: ``estimate_orientation`` (batch) and ``OrientationFilter`` (live);
  VQF (offline / real-time), Madgwick, Mahony, EKF, all returning ``q_world_sensor``.
- ``hipscope.processing.calibration``: ``Calibrator`` (sensor-to-segment alignment, common heading).
- ``hipscope.processing.angles``: ISB segment angles and Grood & Suntay joint angles.
- ``hipscope.processing.kinematics``: ``compute_kinematics(recording) -> SessionKinematics``.
- ``hipscope.processing.streaming``: ``StreamingKinematics`` for the live monitor.

Submodules import their heavy dependencies themselves; importing this package is cheap.
"""
