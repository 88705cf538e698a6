"""Speed comparisons of ntpbook_lib against generic alternatives (run: python -m bench [name ...])."""
