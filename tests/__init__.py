"""The test suite; a package, so that helpers import by their full name (tests.support...)."""
