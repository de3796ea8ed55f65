"""QA harness: caller voices, scripted test calls, scorecards."""
