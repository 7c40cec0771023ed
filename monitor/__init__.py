"""complaint-monitor: brand mentions in, complaints, incidents, reply drafts and a digest out."""

__version__ = "0.1.0"
