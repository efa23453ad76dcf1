"""GoalTrajectory.AI reference backend: goals in PostgreSQL, their embeddings in ChromaDB."""

__all__ = ["__version__"]

__version__ = "0.1.0"
