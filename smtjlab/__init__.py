"""smtjlab: stochastic computing on the telegraph noise of stochastic magnetic tunnel junctions."""

__version__ = "0.1.0"
