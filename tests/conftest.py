# Puts tests/ on sys.path (pytest's default prepend import mode) so test modules can share
# small helpers such as shared_paths.
