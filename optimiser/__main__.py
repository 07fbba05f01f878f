"""``python -m optimiser`` runs the command line."""

from optimiser.cli import main

if __name__ == "__main__":
    main()
