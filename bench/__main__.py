"""`python -m bench small|medium|large`: see bench/run.py."""

import sys

from bench.run import main

sys.exit(main())
