import sys

from smtjlab.cli import main

sys.exit(main())
