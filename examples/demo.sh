#!/bin/sh
# demo.sh POSTERN: a dry run of the stock rules over the example messages.
set -eu
postern=${1:-postern}
"$postern" --version
