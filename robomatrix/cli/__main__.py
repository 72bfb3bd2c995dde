import sys

from robomatrix.cli.main import main

sys.exit(main())
