"""NFS-Ganesha high-availability agents (ganesha_mon, ganesha_grace) built on ocfkit."""

__version__ = "0.1.0"
