"""What runs beside candidate code, in the untrusted runner process. Never imports judge/."""
