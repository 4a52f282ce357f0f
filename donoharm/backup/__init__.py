"""Whole-instance backups (`db backup --full`) and their verified restore (`db restore`): see archive.py."""
