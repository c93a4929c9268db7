#!/usr/bin/python3
# numpy reads what libsomscope writes: a placeholder that grows with the CLI.
# Prints TAP.
import subprocess, sys
import numpy as np

cli = sys.argv[1]
out = subprocess.run([cli, '--version'], capture_output=True, text=True)
print('1..1')
print(('ok' if out.returncode == 0 and out.stdout.startswith('somscope-cli') else 'not ok') + ' 1 cli --version')
