"""Virtual sensors: motion simulator, packet encoders and bumble-based GATT peripherals.

Import the submodules directly (``hipscope.acquisition.virtual.encoders``, ``.simulator``, ...);
this package imports nothing so that light users do not pull in bumble.
"""
