"""rootkey: keep AWS root-user access keys at zero, from Slack."""

__version__ = "0.1.0"  # the same as pyproject.toml's [project] version
