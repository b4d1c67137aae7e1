"""kernelbench stage."""
