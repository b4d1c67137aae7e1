"""Helpers several test folders share: the scripted OpenAI server, the recorded GPU double."""
