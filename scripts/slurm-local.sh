#!/usr/bin/env bash
# Run a command against a throwaway single-node SLURM cluster on this machine: installs slurm-wlm
# and munge when missing, starts munged/slurmctld/slurmd, runs the command, stops exactly those
# daemons again (also on failure or Ctrl-C). Needs root; see scripts/slurm_cluster.py.
#
#   scripts/slurm-local.sh sinfo
#   scripts/slurm-local.sh .venv/bin/snakemake --profile profiles/slurm --configfile config/test.yaml \
#       --slurm-no-account --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2
#
# Exit status: the command's; 2 = cluster unavailable here (reason printed); 3 = it failed to start.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# stdlib only: any python3 will do; prefer the project's
py="$here/../.venv/bin/python"
[ -x "$py" ] || py=python3
exec "$py" "$here/slurm_cluster.py" run -- "$@"
