"""rootkey: keep AWS root-user access keys at zero, from Slack."""
