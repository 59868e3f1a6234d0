"""newsmon: a news-monitoring daemon that tracks what political actors demand."""

__version__ = "0.1.0"
USER_AGENT = f"newsmon/{__version__} (+https://github.com/newsmon/newsmon)"
