"""``python -m tests.standin --config JSON``: serve a stand-in in this process (see the package).

The server code is imported as ``tests.standin``, not run as ``__main__``, so modules named in
``script_modules`` register into the same ``SCRIPTS`` the server reads.
"""

from tests.standin.process import main

if __name__ == "__main__":
    main()
