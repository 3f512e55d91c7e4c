"""wirebrief: cited digests of Telegram news channels."""

__version__ = "0.1.0"
