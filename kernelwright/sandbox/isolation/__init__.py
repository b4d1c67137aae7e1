"""The fork server, its client, and the OS walls around the runner."""
