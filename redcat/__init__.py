"""redcat: seeding-to-sale attribution warehouse."""

__version__ = "0.1.0"
