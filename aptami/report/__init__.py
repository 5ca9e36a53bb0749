"""The report: every claim of the essay with its figure, headline number, control, GIF and verdict."""
from .build import house_section, load_analyses, write_report
from .claims import CLAIMS, read
from .demo import DEMO_EXPERIMENTS, run_demo

__all__ = ["CLAIMS", "DEMO_EXPERIMENTS", "house_section", "load_analyses", "read", "run_demo", "write_report"]
