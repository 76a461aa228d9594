"""abnrl: the command line (train, watch, eval, analyze, report, sweep, compare) and what it
runs on: training runs, evaluation, attention videos and analyses, packaged agents."""
