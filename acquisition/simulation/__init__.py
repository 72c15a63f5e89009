"""Building blocks of the motion simulator; the public entry is ``acquisition.simulator``."""
