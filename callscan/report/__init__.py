"""Pages and exports rendered from the store (see ``render.write_report``)."""

from .render import ReportOptions, write_atomic, write_call_files, write_report

__all__ = ["ReportOptions", "write_atomic", "write_call_files", "write_report"]
