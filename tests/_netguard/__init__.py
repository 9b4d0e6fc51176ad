"""The tests' network guard (see netguard.py); sitecustomize.py installs it in child processes."""
