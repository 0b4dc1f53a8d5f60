"""``python -m tests.hostile``: serve the hostile app on two loopback ports (see the package)."""

from tests.hostile.process import main

if __name__ == "__main__":
    main()
