"""The paper's Tables 1-4 as runnable grids, reported next to the paper's numbers."""
from monossl.reproduce.paper import TABLES
from monossl.reproduce.runner import BUDGETS, reproduce

__all__ = ["TABLES", "BUDGETS", "reproduce"]
