"""watcher: the automated watch (veille) of the Grand Est EIT network."""

__version__ = "0.1.0"
