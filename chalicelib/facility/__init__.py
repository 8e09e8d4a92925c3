"""Facility data as European XFEL's myMdC keeps it: instruments, proposals, experiments,
samples, runs, data groups and their files, repositories and replicas (issue 18)."""
