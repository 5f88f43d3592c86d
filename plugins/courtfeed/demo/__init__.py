"""Quickstart helpers: a local SFTP endpoint serving the demo drop folder for `make run`."""
