"""Building blocks of the motion simulator.

The public entry is ``hipscope.acquisition.simulator``.
"""
