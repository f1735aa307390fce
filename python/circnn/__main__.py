"""python -m circnn: the circnn command."""
import sys

from .cli import main

sys.exit(main())
