"""The hack corpus: one candidate per known reward-hack class (see test_hack_corpus.py)."""
